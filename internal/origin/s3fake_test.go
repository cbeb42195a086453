package origin_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// These tests put the S3 origin in front of a fake server, for what a real
// one will not do on request: lie about lengths, stall, fail.

const fakeBucket = "secret-bucket-name"

// fakeS3 serves handler as an S3 endpoint and returns an origin over it,
// with credentials that must never show in errors, plus a request counter.
func fakeS3(t *testing.T, edit func(*origin.S3Config), handler http.HandlerFunc) (*origin.S3, origin.S3Config, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	c := fakeConfig(srv.URL, 1)
	if edit != nil {
		edit(&c)
	}
	return newS3(t, c), c, &requests
}

func fakeConfig(endpoint string, maxAttempts int) origin.S3Config {
	return origin.S3Config{
		Bucket:          fakeBucket,
		Region:          "us-east-1",
		Endpoint:        endpoint,
		PathStyle:       true,
		AccessKeyID:     "AKIAFAKEACCESSKEY123",
		SecretAccessKey: "fakeSecretAccessKeyThatMustNotLeak1234567",
		MaxBytes:        1000,
		Timeout:         300 * time.Millisecond,
		MaxAttempts:     maxAttempts,
	}
}

func s3ErrorBody(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>`+
		`<Message>about bucket %s</Message><BucketName>%s</BucketName><Resource>/%s/k</Resource></Error>`,
		code, fakeBucket, fakeBucket, fakeBucket)
}

func TestS3FakeErrors(t *testing.T) {
	stall := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"no such key", func(w http.ResponseWriter, r *http.Request) { s3ErrorBody(w, 404, "NoSuchKey") }, origin.ErrNotFound},
		{"bare 404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, origin.ErrNotFound},
		{"no such bucket", func(w http.ResponseWriter, r *http.Request) { s3ErrorBody(w, 404, "NoSuchBucket") }, origin.ErrFailed},
		{"access denied", func(w http.ResponseWriter, r *http.Request) { s3ErrorBody(w, 403, "AccessDenied") }, origin.ErrFailed},
		{"server error", func(w http.ResponseWriter, r *http.Request) { s3ErrorBody(w, 500, "InternalError") }, origin.ErrFailed},
		{"length over max", func(w http.ResponseWriter, r *http.Request) {
			// Announces more than the limit, sends a little, then stalls:
			// Fetch must decide from the header and not wait for the body.
			w.Header().Set("Content-Length", "1000000")
			w.Write([]byte("some bytes"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, origin.ErrTooLarge},
		{"chunked over max", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush() // no Content-Length: chunked
			for range 11 {
				w.Write(make([]byte, 100))
			}
		}, origin.ErrTooLarge},
		{"no headers in time", stall, origin.ErrTimeout},
		{"body stalls", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			w.Write(make([]byte, 100))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, origin.ErrTimeout},
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}, origin.ErrFailed},
		{"short body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			w.Write(make([]byte, 100))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection
		}, origin.ErrFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, c, _ := fakeS3(t, nil, tc.handler)
			start := time.Now()
			obj, err := o.Fetch(context.Background(), "photos/cat.jpg")
			if !errors.Is(err, tc.want) || obj != nil {
				t.Fatalf("got %v, %v; want %v", obj, err, tc.want)
			}
			if d := time.Since(start); d > c.Timeout+time.Second {
				t.Errorf("took %v, the timeout is %v", d, c.Timeout)
			}
			t.Logf("error text: %v", err)
			checkNoSecrets(t, err, c)
		})
	}
}

func TestS3ConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	c := fakeConfig(endpoint, 1)
	_, err = newS3(t, c).Fetch(context.Background(), "photos/cat.jpg")
	if !errors.Is(err, origin.ErrFailed) {
		t.Fatalf("got %v, want ErrFailed", err)
	}
	t.Logf("error text: %v", err)
	checkNoSecrets(t, err, c)
}

// A failing request is retried, but only up to MaxAttempts.
func TestS3RetriesBounded(t *testing.T) {
	o, _, requests := fakeS3(t, func(c *origin.S3Config) {
		c.MaxAttempts = 2
		c.Timeout = 10 * time.Second // longer than the SDK's backoff
	}, func(w http.ResponseWriter, r *http.Request) {
		s3ErrorBody(w, 503, "SlowDown")
	})
	if _, err := o.Fetch(context.Background(), "photos/cat.jpg"); !errors.Is(err, origin.ErrFailed) {
		t.Fatalf("got %v, want ErrFailed", err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// A caller that gives up gets context.Canceled, promptly, not a timeout.
func TestS3CallerCancels(t *testing.T) {
	o, _, _ := fakeS3(t, nil, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := o.Fetch(ctx, "photos/cat.jpg")
	if !errors.Is(err, context.Canceled) || errors.Is(err, origin.ErrTimeout) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("took %v to notice the cancellation", d)
	}
}

func TestNewS3Errors(t *testing.T) {
	good := fakeConfig("http://127.0.0.1:1", 1)
	for name, edit := range map[string]func(*origin.S3Config){
		"no bucket":   func(c *origin.S3Config) { c.Bucket = "" },
		"no max":      func(c *origin.S3Config) { c.MaxBytes = 0 },
		"half a pair": func(c *origin.S3Config) { c.SecretAccessKey = "" },
	} {
		c := good
		edit(&c)
		if _, err := origin.NewS3(context.Background(), c); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), c.AccessKeyID) && c.AccessKeyID != "" {
			t.Errorf("%s: error %q names the access key", name, err)
		}
	}
}
