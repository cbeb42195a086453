package origin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// error classifies an error from GetObject or from reading its body. ctx is
// the caller's context, tctx the one bounded by the fetch timeout; key is
// the object key as S3 saw it (prefix included).
func (o *S3) error(ctx, tctx context.Context, key string, err error) error {
	return o.classify(ctx, tctx, fmt.Sprintf("s3 get %q", key), true, err)
}

// classify turns an SDK error into one of the kinds. op says what was
// asked ("s3 get \"images/cat.jpg\"", "s3 list"); objectOp says whether a
// 404 may mean a missing object rather than a missing bucket.
//
// The SDK's own error text is not passed on: it can hold the request URL,
// and so the endpoint and the bucket. What is kept is the status code, the
// S3 error code, or a description of a network error, with anything that
// still looks like the bucket, the endpoint or a credential redacted.
func (o *S3) classify(ctx, tctx context.Context, op string, objectOp bool, err error) error {
	switch {
	case ctx.Err() != nil: // the caller gave up, or its deadline passed
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: %s", ErrTimeout, op)
		}
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case tctx.Err() != nil:
		return fmt.Errorf("%w: %s: no answer within %s", ErrTimeout, op, o.timeout)
	}
	var noKey *types.NoSuchKey
	if objectOp && errors.As(err, &noKey) {
		return fmt.Errorf("%w: %s", ErrNotFound, op)
	}
	var apiCode string
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		apiCode = " " + o.redact.Replace(apiErr.ErrorCode())
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() != 0 { // 0: no answer
		code := respErr.HTTPStatusCode()
		// A missing bucket is a configuration error, not a missing original.
		if objectOp && code == http.StatusNotFound && apiCode != " NoSuchBucket" {
			return fmt.Errorf("%w: %s: status %d%s", ErrNotFound, op, code, apiCode)
		}
		return fmt.Errorf("%w: %s: status %d%s", ErrFailed, op, code, apiCode)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Errorf("%w: %s: %s", ErrTimeout, op, o.describe(err))
	}
	return fmt.Errorf("%w: %s: %s", ErrFailed, op, o.describe(err))
}

// describe says what went wrong with a request that got no HTTP answer,
// without the addresses that net's errors carry.
func (o *S3) describe(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns lookup failed: " + o.redact.Replace(dnsErr.Err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return fmt.Sprintf("network error: %s: %s", opErr.Op, o.redact.Replace(opErr.Err.Error()))
	}
	// The SDK's text has the request URL in it: keep only the innermost
	// cause, which is usually the telling part ("EOF", "checksum did not
	// match ..."), redacted all the same.
	inner := err
	for next := errors.Unwrap(inner); next != nil; next = errors.Unwrap(next) {
		inner = next
	}
	return o.redact.Replace(inner.Error())
}

// newRedactor returns a replacer that hides the bucket, the endpoint (whole,
// and its host) and the credentials of c.
func newRedactor(c S3Config) *strings.Replacer {
	secrets := map[string]string{
		c.Bucket:          "<bucket>",
		c.Endpoint:        "<endpoint>",
		c.AccessKeyID:     "<access-key>",
		c.SecretAccessKey: "<secret>",
	}
	if u, err := url.Parse(c.Endpoint); err == nil && u.Host != "" {
		secrets[u.Host] = "<endpoint>"
		secrets[u.Hostname()] = "<endpoint>"
	}
	olds := make([]string, 0, len(secrets))
	for s := range secrets {
		if s != "" {
			olds = append(olds, s)
		}
	}
	// Longest first, so that the endpoint goes before its host.
	slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(olds))
	for _, s := range olds {
		pairs = append(pairs, s, secrets[s])
	}
	return strings.NewReplacer(pairs...)
}
