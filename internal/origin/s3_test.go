package origin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/origintest"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

func newS3(t testing.TB, c origin.S3Config) *origin.S3 {
	t.Helper()
	o, err := origin.NewS3(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestS3Conformance(t *testing.T) {
	origintest.Run(t, func(t *testing.T, objects map[string][]byte, maxBytes int64) origin.Origin {
		b := s3test.Bucket(t)
		for key, body := range objects {
			b.Put(t, key, body)
		}
		return newS3(t, b.OriginConfig(maxBytes))
	})
}

// With a prefix, keys are looked up under it, and nothing outside it is
// reachable.
func TestS3Prefix(t *testing.T) {
	b := s3test.Bucket(t)
	b.Put(t, "tenant/photos/cat.jpg", []byte("cat"))
	b.Put(t, "secret.jpg", []byte("secret"))
	c := b.OriginConfig(1024)
	c.Prefix = "tenant/"
	o := newS3(t, c)

	obj, err := o.Fetch(context.Background(), "photos/cat.jpg")
	if err != nil || string(obj.Body) != "cat" {
		t.Fatalf("got %v, %v; want the prefixed object", obj, err)
	}
	for _, key := range []string{"../secret.jpg", "tenant/photos/cat.jpg", "secret.jpg"} {
		if obj, err := o.Fetch(context.Background(), key); !errors.Is(err, origin.ErrNotFound) {
			t.Errorf("%q: got %v, %v; want ErrNotFound", key, obj, err)
		}
	}
}

// Errors from the real server name the key but not the bucket, the endpoint
// or the credentials.
func TestS3ErrorsKeepSecrets(t *testing.T) {
	b := s3test.Bucket(t)
	good := b.OriginConfig(1024)
	wrongSecret := good
	wrongSecret.SecretAccessKey = strings.Repeat("x", len(good.SecretAccessKey))
	noBucket := good
	noBucket.Bucket = b.Bucket + "-missing"
	for _, tc := range []struct {
		name string
		c    origin.S3Config
		want error
	}{
		{"missing object", good, origin.ErrNotFound},
		{"wrong secret", wrongSecret, origin.ErrFailed},
		{"missing bucket", noBucket, origin.ErrFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.MaxAttempts = 1
			_, err := newS3(t, tc.c).Fetch(context.Background(), "photos/missing.jpg")
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Logf("error text: %v", err)
			checkNoSecrets(t, err, tc.c, good)
			if !strings.Contains(err.Error(), "photos/missing.jpg") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

// checkNoSecrets fails when err's text holds the bucket, the endpoint or a
// credential of any of the configurations.
func checkNoSecrets(t testing.TB, err error, cs ...origin.S3Config) {
	t.Helper()
	for _, c := range cs {
		host := strings.TrimPrefix(strings.TrimPrefix(c.Endpoint, "http://"), "https://")
		for _, secret := range []string{c.Bucket, c.Endpoint, host, c.AccessKeyID, c.SecretAccessKey} {
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains %q", err, secret)
			}
		}
	}
}

// A large object round-trips through the real server, body intact.
func TestS3LargeObject(t *testing.T) {
	b := s3test.Bucket(t)
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	b.Put(t, "big.jpg", body)
	c := b.OriginConfig(int64(len(body)))
	c.Timeout = 30 * time.Second
	obj, err := newS3(t, c).Fetch(context.Background(), "big.jpg")
	if err != nil || !bytes.Equal(obj.Body, body) {
		t.Fatalf("got %v; want the %d bytes back", err, len(body))
	}
}
