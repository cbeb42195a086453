package origin_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

// A prefix written without its trailing slash (or with a leading one) names
// the same folder, and errors name the object key S3 was asked for, prefix
// included: before, "tenant" + "photos/cat.jpg" asked for
// "tenantphotos/cat.jpg" and the log said only "photos/cat.jpg".
func TestS3PrefixNormalised(t *testing.T) {
	b := s3test.Bucket(t)
	b.Put(t, "tenant/photos/cat.jpg", []byte("cat"))
	for _, prefix := range []string{"tenant", "tenant/", "/tenant"} {
		t.Run(prefix, func(t *testing.T) {
			c := b.OriginConfig(1024)
			c.Prefix = prefix
			o := newS3(t, c)
			obj, err := o.Fetch(context.Background(), "photos/cat.jpg")
			if err != nil || string(obj.Body) != "cat" {
				t.Fatalf("got %v, %v; want the object under tenant/", obj, err)
			}
			_, err = o.Fetch(context.Background(), "photos/missing.jpg")
			if !errors.Is(err, origin.ErrNotFound) || !strings.Contains(err.Error(), `"tenant/photos/missing.jpg"`) {
				t.Errorf("missing object: %v; want ErrNotFound naming the full key", err)
			}
			keys, err := o.List(context.Background(), 10)
			if err != nil || !slices.Equal(keys, []string{"photos/cat.jpg"}) {
				t.Errorf("List: %q, %v; want the key without the prefix", keys, err)
			}
		})
	}
}

// The startup check passes on a working bucket, empty or not, and fails on
// each misconfiguration with a hint at the setting to fix and nothing
// secret in the text.
func TestS3Check(t *testing.T) {
	b := s3test.Bucket(t)
	good := b.OriginConfig(1024)
	empty := s3test.Bucket(t).OriginConfig(1024)
	wrongSecret := good
	wrongSecret.SecretAccessKey = strings.Repeat("x", len(good.SecretAccessKey))
	noBucket := good
	noBucket.Bucket = b.Bucket + "-missing"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := good
	dead.Endpoint = "http://" + ln.Addr().String()
	ln.Close()
	b.Put(t, "a.jpg", []byte("a"))

	for _, tc := range []struct {
		name string
		c    origin.S3Config
		hint string // "" when the check must pass
	}{
		{"working", good, ""},
		{"empty bucket", empty, ""},
		{"wrong secret", wrongSecret, "credentials refused"},
		{"missing bucket", noBucket, "no such bucket"},
		{"dead endpoint", dead, "check origin.s3.endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.MaxAttempts = 1
			err := origin.Check(context.Background(), newS3(t, tc.c))
			if tc.hint == "" {
				if err != nil {
					t.Fatalf("check failed: %v", err)
				}
				return
			}
			if !errors.Is(err, origin.ErrFailed) || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("got %v; want ErrFailed saying %q", err, tc.hint)
			}
			t.Logf("error text: %v", err)
			checkNoSecrets(t, err, tc.c, good)
		})
	}
}
