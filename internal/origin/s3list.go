package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// List lists up to max keys under the prefix (which is removed from them)
// with one ListObjectsV2 request. Errors say which setting to check.
func (o *S3) List(ctx context.Context, n int) ([]string, error) {
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	out, err := o.client.ListObjectsV2(tctx, &s3.ListObjectsV2Input{
		Bucket:  aws.String(o.bucket),
		Prefix:  aws.String(o.prefix),
		MaxKeys: aws.Int32(int32(min(max(n, 1), 1000))),
	})
	if err != nil {
		op := "s3 list"
		if o.prefix != "" {
			op = fmt.Sprintf("s3 list %q", o.prefix)
		}
		return nil, fmt.Errorf("%w (%s)", o.classify(ctx, tctx, op, false, err), listHint(err))
	}
	keys := make([]string, 0, len(out.Contents))
	for _, obj := range out.Contents {
		if key, ok := strings.CutPrefix(aws.ToString(obj.Key), o.prefix); ok && validKey(key) && len(keys) < n {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// listHint says which setting a failed listing points at. A listing needs
// s3:ListBucket, which a policy granting only s3:GetObject lacks: then the
// origin works and only the check fails, hence the way out.
func listHint(err error) string {
	var code string
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket" || status == http.StatusNotFound:
		return "no such bucket: check origin.s3.bucket, and origin.s3.endpoint or origin.s3.region"
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == http.StatusMovedPermanently:
		return "the bucket is in another region: check origin.s3.region"
	case status == http.StatusForbidden:
		return "credentials refused, or not allowed to list the bucket (s3:ListBucket): check the access key and secret; " +
			"if they may only read objects, set origin.check to off"
	case status == 0:
		return "no answer: check origin.s3.endpoint and the network"
	}
	return "check the origin.s3 settings"
}
