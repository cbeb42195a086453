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
// the caller's context, tctx the one bounded by the fetch timeout.
//
// The SDK's own error text is not passed on: it can hold the request URL,
// and so the endpoint and the bucket. What is kept is the status code, the
// S3 error code, or a description of a network error, with anything that
// still looks like the bucket, the endpoint or a credential redacted.
func (o *S3) error(ctx, tctx context.Context, key string, err error) error {
	switch {
	case ctx.Err() != nil: // the caller gave up, or its deadline passed
		return ctxError(ctx, key)
	case tctx.Err() != nil:
		return fmt.Errorf("%w: s3 get %q: no answer within %s", ErrTimeout, key, o.timeout)
	}
	var noKey *types.NoSuchKey
	if errors.As(err, &noKey) {
		return fmt.Errorf("%w: s3 get %q", ErrNotFound, key)
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
		if code == http.StatusNotFound && apiCode != " NoSuchBucket" {
			return fmt.Errorf("%w: s3 get %q: status %d%s", ErrNotFound, key, code, apiCode)
		}
		return fmt.Errorf("%w: s3 get %q: status %d%s", ErrFailed, key, code, apiCode)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Errorf("%w: s3 get %q: %s", ErrTimeout, key, o.describe(err))
	}
	return fmt.Errorf("%w: s3 get %q: %s", ErrFailed, key, o.describe(err))
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
