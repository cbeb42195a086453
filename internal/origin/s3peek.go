package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Peek gets the first n bytes of Prefix+key with one ranged GET, whose
// answer carries the ETag and, in Content-Range, the object's size. An
// empty object has no byte 0 to range over (416): a HEAD names it then.
func (o *S3) Peek(ctx context.Context, key string, n int64) (*Peek, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	if err := checkPeek(key, 0, n); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	full := o.prefix + key
	head, size, etag, err := o.getRange(tctx, full, 0, n, "")
	if status(err) == http.StatusRequestedRangeNotSatisfiable {
		return o.peekEmpty(ctx, tctx, full)
	}
	if err != nil {
		return nil, o.error(ctx, tctx, full, err)
	}
	if size > o.maxBytes {
		return nil, fmt.Errorf("%w: %q is %d bytes, the limit is %d", ErrTooLarge, full, size, o.maxBytes)
	}
	if etag == "" {
		return nil, fmt.Errorf("%w: s3 get %q: no ETag in the answer", ErrFailed, full)
	}
	return &Peek{Head: head, Size: size, Content: strings.Trim(etag, `"`), Tag: etag}, nil
}

// ReadRange gets n bytes from off of Prefix+key, only while its ETag is
// still tag (If-Match): a changed object answers 412.
func (o *S3) ReadRange(ctx context.Context, key string, off, n int64, tag string) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	if err := checkPeek(key, off, n); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	full := o.prefix + key
	b, _, _, err := o.getRange(tctx, full, off, n, tag)
	switch status(err) {
	case http.StatusRequestedRangeNotSatisfiable:
		return nil, nil // off is at or past the end
	case http.StatusPreconditionFailed:
		return nil, fmt.Errorf("%w: %q", ErrChanged, full)
	}
	if err != nil {
		return nil, o.error(ctx, tctx, full, err)
	}
	return b, nil
}

// getRange gets bytes [off, off+n) of the object and returns them with the
// object's size and ETag. A server that ignores Range and sends the whole
// object gets its connection closed after n bytes: never more is read.
func (o *S3) getRange(ctx context.Context, full string, off, n int64, ifMatch string) ([]byte, int64, string, error) {
	in := &s3.GetObjectInput{
		Bucket: aws.String(o.bucket),
		Key:    aws.String(full),
		Range:  aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10)),
	}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := o.client.GetObject(ctx, in)
	if err != nil {
		return nil, 0, "", err
	}
	defer out.Body.Close()
	size, start, ok := contentRange(aws.ToString(out.ContentRange))
	switch {
	case !ok && out.ContentLength != nil:
		size, start = *out.ContentLength, 0 // the whole object
	case !ok:
		return nil, 0, "", fmt.Errorf("no Content-Range or Content-Length in the answer")
	}
	if start > off {
		return nil, 0, "", fmt.Errorf("answered bytes from %d, asked from %d", start, off)
	}
	if _, err := io.CopyN(io.Discard, out.Body, off-start); err != nil {
		return nil, 0, "", err
	}
	want := max(0, min(n, size-off))
	b := make([]byte, want)
	if _, err := io.ReadFull(out.Body, b); err != nil {
		return nil, 0, "", err
	}
	return b, size, aws.ToString(out.ETag), nil
}

// contentRange parses "bytes 0-65535/1234567" into the size and the first
// byte; a size of "*" is not an answer to a GET.
func contentRange(s string) (size, start int64, ok bool) {
	r, found := strings.CutPrefix(s, "bytes ")
	span, total, found2 := strings.Cut(r, "/")
	first, _, found3 := strings.Cut(span, "-")
	if !found || !found2 || !found3 {
		return 0, 0, false
	}
	size, err1 := strconv.ParseInt(total, 10, 64)
	start, err2 := strconv.ParseInt(first, 10, 64)
	if err1 != nil || err2 != nil || size < 0 || start < 0 {
		return 0, 0, false
	}
	return size, start, true
}

// peekEmpty names an object that has no first byte.
func (o *S3) peekEmpty(ctx, tctx context.Context, full string) (*Peek, error) {
	out, err := o.client.HeadObject(tctx, &s3.HeadObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(full)})
	if err != nil {
		return nil, o.classify(ctx, tctx, fmt.Sprintf("s3 head %q", full), true, err)
	}
	if size := aws.ToInt64(out.ContentLength); size != 0 {
		return nil, fmt.Errorf("%w: s3 get %q: range refused for an object of %d bytes", ErrFailed, full, size)
	}
	etag := aws.ToString(out.ETag)
	return &Peek{Head: []byte{}, Size: 0, Content: strings.Trim(etag, `"`), Tag: etag}, nil
}

// status is the HTTP status of an SDK error, or 0.
func status(err error) int {
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		return respErr.HTTPStatusCode()
	}
	return 0
}
