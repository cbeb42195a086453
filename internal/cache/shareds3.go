package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// S3Store is a Store in an S3 bucket, under a prefix.
type S3Store struct {
	client *s3.Client
	bucket string
	prefix string
	// unconditional is set once the server has refused a conditional
	// write as not implemented: it is not asked again. noIfMatch and
	// noBatch are the same for If-Match and DeleteObjects.
	unconditional, noIfMatch, noBatch atomic.Bool
}

var _ Store = (*S3Store)(nil)

// entryContentType is the Content-Type of every object the tier writes: the
// body is an encoded entry (diskformat.go), not the image itself.
const entryContentType = "application/x-imgproxy-entry"

// NewS3Store returns a store over c.Bucket and c.Prefix, with the client
// origin.NewS3Client builds (the same HTTP, retry and credential setup as
// the origin's). It does not contact the server.
func NewS3Store(ctx context.Context, c origin.S3Config) (*S3Store, error) {
	if c.Bucket == "" {
		return nil, errors.New("shared cache: bucket is required")
	}
	client, err := origin.NewS3Client(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("shared cache: %w", err)
	}
	p := strings.TrimLeft(c.Prefix, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return &S3Store{client: client, bucket: c.Bucket, prefix: p}, nil
}

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, key string, limit int64) ([]byte, ObjectInfo, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)})
	if err != nil {
		return nil, ObjectInfo{}, s.kind("get", key, err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); n > limit {
		return nil, ObjectInfo{}, fmt.Errorf("%w: %q is %d bytes, the limit is %d", ErrObjectTooLarge, key, n, limit)
	}
	b, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, ObjectInfo{}, s.kind("get", key, err)
	}
	if int64(len(b)) > limit {
		return nil, ObjectInfo{}, fmt.Errorf("%w: %q is over %d bytes", ErrObjectTooLarge, key, limit)
	}
	return b, ObjectInfo{Key: key, Size: int64(len(b)), Modified: aws.ToTime(out.LastModified), ETag: aws.ToString(out.ETag)}, nil
}

// Put implements Store. A server that refuses If-None-Match as not
// implemented gets the write again without it, and no condition from then
// on.
func (s *S3Store) Put(ctx context.Context, key string, body []byte, ifAbsent bool) error {
	in := &s3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.prefix + key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType: aws.String(entryContentType),
	}
	if ifAbsent && !s.unconditional.Load() {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := s.client.PutObject(ctx, in)
	if in.IfNoneMatch != nil && notImplemented(err) {
		s.unconditional.Store(true)
		in.IfNoneMatch = nil
		in.Body = bytes.NewReader(body)
		_, err = s.client.PutObject(ctx, in)
	}
	if err != nil {
		return s.kind("put", key, err)
	}
	return nil
}

// List implements Store.
func (s *S3Store) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.kind("list", prefix, err)
		}
		for _, o := range page.Contents {
			info := ObjectInfo{Key: strings.TrimPrefix(aws.ToString(o.Key), s.prefix),
				Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified), ETag: aws.ToString(o.ETag)}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// Touch implements Store: the bytes are written again only if the object
// is still the version read (If-Match), so a purged one stays purged. A
// server without conditional writes gets a copy in place instead, which
// renews the modification time on S3 without sending the bytes (but not
// on every S3-compatible server).
func (s *S3Store) Touch(ctx context.Context, key string, body []byte, etag string) error {
	if !s.noIfMatch.Load() {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: aws.String(s.prefix + key),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
			ContentType: aws.String(entryContentType), IfMatch: aws.String(etag),
		})
		switch {
		case err == nil:
			return nil
		case notImplemented(err):
			s.noIfMatch.Store(true)
		case errors.Is(s.kind("touch", key, err), ErrObjectExists): // 412
			return fmt.Errorf("%w: %q changed or went since it was read", ErrNoObject, key)
		default:
			return s.kind("touch", key, err)
		}
	}
	source := s.bucket + "/" + (&url.URL{Path: s.prefix + key}).EscapedPath()
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.prefix + key), CopySource: aws.String(source),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String(entryContentType),
	})
	if err != nil {
		return s.kind("touch", key, err)
	}
	return nil
}

// deleteBatch is the most keys one DeleteObjects request takes.
const deleteBatch = 1000

// Delete implements Store: one key is a DeleteObject, more go in
// DeleteObjects batches, or one by one from the first server that says it
// has no such request.
func (s *S3Store) Delete(ctx context.Context, keys ...string) error {
	for len(keys) > 1 && !s.noBatch.Load() {
		n := min(len(keys), deleteBatch)
		err := s.deleteBatch(ctx, keys[:n])
		if notImplemented(err) {
			s.noBatch.Store(true)
			break
		}
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	for _, key := range keys {
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)})
		if err != nil && !errors.Is(s.kind("delete", key, err), ErrNoObject) {
			return s.kind("delete", key, err)
		}
	}
	return nil
}

func (s *S3Store) deleteBatch(ctx context.Context, keys []string) error {
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(s.prefix + k)}
	}
	out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &s.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if notImplemented(err) {
		return err
	}
	if err != nil {
		return s.kind("delete", keys[0], err)
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) != "NoSuchKey" {
			return fmt.Errorf("shared cache: s3 delete %q: %s", aws.ToString(e.Key), aws.ToString(e.Code))
		}
	}
	return nil
}

// kind gives an SDK error its kind, keeping the status and S3 error code;
// the SDK's own text (which holds the request URL) is left out.
func (s *S3Store) kind(op, key string, err error) error {
	what := fmt.Sprintf("shared cache: s3 %s %q", op, s.prefix+key)
	var noKey *types.NoSuchKey
	if errors.As(err, &noKey) {
		return fmt.Errorf("%w: %s", ErrNoObject, what)
	}
	code := ""
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = " " + apiErr.ErrorCode()
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() != 0 {
		status := respErr.HTTPStatusCode()
		switch {
		case code == " NoSuchBucket", status == http.StatusForbidden, code == " InvalidAccessKeyId", code == " SignatureDoesNotMatch":
			return fmt.Errorf("%w: %s: status %d%s", ErrStoreRefused, what, status, code)
		case status == http.StatusNotFound:
			return fmt.Errorf("%w: %s", ErrNoObject, what)
		case status == http.StatusPreconditionFailed, code == " ConditionalRequestConflict":
			return fmt.Errorf("%w: %s", ErrObjectExists, what)
		}
		return fmt.Errorf("%s: status %d%s", what, status, code)
	}
	for _, c := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, c) {
			return fmt.Errorf("%s: %w", what, c)
		}
	}
	inner := err
	for next := errors.Unwrap(inner); next != nil; next = errors.Unwrap(next) {
		inner = next
	}
	return fmt.Errorf("%s: %s", what, inner.Error())
}

// notImplemented reports a server that does not support a request's
// header (some S3-compatible servers and If-None-Match on PutObject).
func notImplemented(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotImplemented" {
		return true
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotImplemented
}
