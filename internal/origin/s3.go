package origin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 serves originals from an S3 bucket (AWS or any S3-compatible server).
type S3 struct {
	client   *s3.Client
	bucket   string
	prefix   string
	maxBytes int64
	timeout  time.Duration
	redact   *strings.Replacer // hides bucket, endpoint and credentials in error text
}

var _ Origin = (*S3)(nil)

// NewS3 builds an S3 origin. It does not contact the server.
func NewS3(ctx context.Context, c S3Config) (*S3, error) {
	c = c.withDefaults()
	if c.Bucket == "" {
		return nil, errors.New("origin s3: bucket is required")
	}
	if c.MaxBytes <= 0 {
		return nil, fmt.Errorf("origin s3: max bytes must be positive, got %d", c.MaxBytes)
	}
	client, err := NewS3Client(ctx, c)
	if err != nil {
		return nil, err
	}
	return &S3{
		client:   client,
		bucket:   c.Bucket,
		prefix:   c.Prefix,
		maxBytes: c.MaxBytes,
		timeout:  c.Timeout,
		redact:   newRedactor(c),
	}, nil
}

// Fetch gets Prefix+key. The whole fetch, body included, is bounded by the
// configured timeout. Errors name the object key as S3 saw it, prefix
// included, but never the bucket, the endpoint or the credentials.
func (o *S3) Fetch(ctx context.Context, key string) (*Object, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	if !validKey(key) {
		return nil, errInvalidKey(key)
	}
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	full := o.prefix + key
	out, err := o.client.GetObject(tctx, &s3.GetObjectInput{
		Bucket: aws.String(o.bucket),
		Key:    aws.String(full),
	})
	if err != nil {
		return nil, o.error(ctx, tctx, full, err)
	}
	defer out.Body.Close()

	size := aws.ToInt64(out.ContentLength)
	if out.ContentLength == nil {
		size = -1
	}
	if size > o.maxBytes {
		return nil, fmt.Errorf("%w: %q is %d bytes, the limit is %d", ErrTooLarge, full, size, o.maxBytes)
	}
	body, err := readBody(out.Body, size, o.maxBytes)
	if errors.Is(err, errBodyTooLarge) {
		return nil, fmt.Errorf("%w: %q: %w", ErrTooLarge, full, err)
	}
	if err != nil {
		return nil, o.error(ctx, tctx, full, err)
	}
	if size >= 0 && int64(len(body)) != size {
		return nil, fmt.Errorf("%w: s3 get %q: got %d bytes of %d", ErrFailed, full, len(body), size)
	}
	return &Object{
		Body:         body,
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}
