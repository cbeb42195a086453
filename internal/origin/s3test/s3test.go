// Package s3test gives tests a fresh bucket on a real S3-compatible server
// (versitygw, started by scripts/test.sh) and a proxy that counts the GET
// requests the server receives. It is imported by tests only.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// The environment that scripts/lib.sh's start_versitygw exports.
const (
	EnvEndpoint  = "IMGPROXY_TEST_S3_ENDPOINT"
	EnvAccessKey = "IMGPROXY_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "IMGPROXY_TEST_S3_SECRET_KEY"
	EnvRequired  = "IMGPROXY_TEST_S3_REQUIRED" // "1": a missing server fails the test instead of skipping it
)

// Region is the region the test server is addressed with.
const Region = "us-east-1"

// requestTimeout bounds each setup or cleanup request.
const requestTimeout = 30 * time.Second

// Config is a fresh, empty bucket on the test server, with what a test needs
// to reach it. The server is addressed path-style.
type Config struct {
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Client    *s3.Client
}

// Bucket creates a uniquely named bucket on the server named by the
// environment and deletes it, with its objects, when the test ends. Without
// a server it skips the test, or fails it when IMGPROXY_TEST_S3_REQUIRED=1.
func Bucket(t testing.TB) Config {
	t.Helper()
	c := Config{
		Endpoint:  os.Getenv(EnvEndpoint),
		AccessKey: os.Getenv(EnvAccessKey),
		SecretKey: os.Getenv(EnvSecretKey),
		Bucket:    "imgproxy-test-" + randomHex(8),
	}
	if c.Endpoint == "" || c.AccessKey == "" || c.SecretKey == "" {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("no S3 server: %s=1 but %s, %s or %s is not set", EnvRequired, EnvEndpoint, EnvAccessKey, EnvSecretKey)
		}
		t.Skip("no S3 server: run scripts/test.sh")
	}
	c.create(t)
	t.Cleanup(func() { c.remove(t) })
	return c
}

// create makes the bucket c names, and its client.
func (c *Config) create(t testing.TB) {
	t.Helper()
	client, err := origin.NewS3Client(context.Background(), c.OriginConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	c.Client = client
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(c.Bucket)}); err != nil {
		t.Fatalf("creating the test bucket: %v", err)
	}
}

// OriginConfig returns the configuration of an S3 origin over the bucket.
func (c Config) OriginConfig(maxBytes int64) origin.S3Config {
	return origin.S3Config{
		Bucket:          c.Bucket,
		Region:          Region,
		Endpoint:        c.Endpoint,
		PathStyle:       true,
		AccessKeyID:     c.AccessKey,
		SecretAccessKey: c.SecretKey,
		MaxBytes:        maxBytes,
	}
}

// Put uploads body as key through the S3 API, so the server records an ETag
// and a modification time as it would for any upload.
func (c Config) Put(t testing.TB, key string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	_, err := c.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(c.Bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		t.Fatalf("uploading %q: %v", key, err)
	}
}

// remove deletes every object of the bucket, then the bucket.
func (c Config) remove(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	pages := s3.NewListObjectsV2Paginator(c.Client, &s3.ListObjectsV2Input{Bucket: aws.String(c.Bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Errorf("listing the test bucket: %v", err)
			return
		}
		for _, obj := range page.Contents {
			_, err := c.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.Bucket), Key: obj.Key})
			if err != nil {
				t.Errorf("deleting %q: %v", aws.ToString(obj.Key), err)
			}
		}
	}
	if _, err := c.Client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(c.Bucket)}); err != nil {
		t.Errorf("deleting the test bucket: %v", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
