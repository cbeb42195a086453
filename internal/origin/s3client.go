package origin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Config is what NewS3 needs. Zero Timeout and MaxAttempts take defaults.
type S3Config struct {
	Bucket    string
	Prefix    string // prepended to every key; "images" means "images/" (see normalPrefix)
	Region    string // empty: the SDK's configured region, else us-east-1
	Endpoint  string // empty: AWS
	PathStyle bool

	// Static credentials when both are set; otherwise the standard AWS
	// credential chain (environment, shared files, instance role, ...).
	AccessKeyID, SecretAccessKey string

	MaxBytes    int64         // largest original accepted
	Timeout     time.Duration // bounds one whole Fetch, body included; default 10s
	MaxAttempts int           // per request, retries included; default 3
}

// Defaults for the zero values of S3Config.
const (
	DefaultS3Timeout     = 10 * time.Second
	DefaultS3MaxAttempts = 3
	defaultS3Region      = "us-east-1"

	// Connection-level limits; the context of each Fetch bounds the rest.
	s3DialTimeout      = 5 * time.Second
	s3TLSTimeout       = 5 * time.Second
	s3IdleConnsPerHost = 64
)

func (c S3Config) withDefaults() S3Config {
	c.Prefix = normalPrefix(c.Prefix)
	if c.Timeout <= 0 {
		c.Timeout = DefaultS3Timeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultS3MaxAttempts
	}
	return c
}

// NewS3Client builds the SDK client that NewS3 uses, from the connection
// fields of c (bucket, prefix and max bytes are not used). It is exported for
// test helpers that upload fixtures with the same client setup.
//
// The HTTP client is the SDK's BuildableClient, never a plain *http.Client:
// the SDK refuses to apply AWS_CA_BUNDLE to a client it did not build.
func NewS3Client(ctx context.Context, c S3Config) (*s3.Client, error) {
	c = c.withDefaults()
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = s3DialTimeout
		}).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = s3TLSTimeout
			t.ResponseHeaderTimeout = c.Timeout
			t.MaxIdleConns = 4 * s3IdleConnsPerHost
			t.MaxIdleConnsPerHost = s3IdleConnsPerHost
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.AddWithMaxAttempts(retry.NewStandard(), c.MaxAttempts)
		}),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	switch {
	case c.AccessKeyID != "" && c.SecretAccessKey != "":
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	case c.AccessKeyID != "" || c.SecretAccessKey != "":
		return nil, errors.New("origin s3: set both the access key id and the secret access key, or neither")
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("origin s3: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		// Responses are still checked when they carry a checksum; servers
		// that send none (most S3-compatible ones) are not worth a warning
		// per request.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// normalPrefix makes a key prefix a folder: "images" and "/images/" both
// become "images/". Without the slash, "images" + "cat.jpg" would ask S3
// for "imagescat.jpg"; a leading slash is a path habit, and S3 keys that
// really start with one are not worth the surprise.
func normalPrefix(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}
