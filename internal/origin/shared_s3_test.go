package origin_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

// Counted at the server: the widths of one srcset, requested together and
// then a moment later, cost one GET on the bucket.
func TestSharedS3OneGet(t *testing.T) {
	b := s3test.Bucket(t)
	body := bytes.Repeat([]byte("srcset"), 1000)
	b.Put(t, "photos/cat.jpg", body)
	endpoint, gets := s3test.CountingProxy(t, b.Endpoint)
	c := b.OriginConfig(1 << 20)
	c.Endpoint = endpoint
	s := origin.NewShared(newS3(t, c), 1<<20, time.Minute)

	fetchConcurrently(t, s, "photos/cat.jpg", 20, body)
	if n := gets(); n != 1 {
		t.Errorf("%d GETs for 20 concurrent fetches, want 1", n)
	}
	time.Sleep(100 * time.Millisecond)
	fetchConcurrently(t, s, "photos/cat.jpg", 1, body)
	if n := gets(); n != 1 {
		t.Errorf("%d GETs after a fetch 100ms later, want 1", n)
	}
	s.Forget("photos/cat.jpg")
	fetchConcurrently(t, s, "photos/cat.jpg", 1, body)
	if n := gets(); n != 2 {
		t.Errorf("%d GETs after Forget, want 2", n)
	}
}

// Not found is not remembered: an original uploaded after a miss is served.
func TestSharedS3ErrorsNotCached(t *testing.T) {
	b := s3test.Bucket(t)
	endpoint, gets := s3test.CountingProxy(t, b.Endpoint)
	c := b.OriginConfig(1 << 20)
	c.Endpoint = endpoint
	s := origin.NewShared(newS3(t, c), 1<<20, time.Minute)

	if _, err := s.Fetch(context.Background(), "late.jpg"); !errors.Is(err, origin.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	b.Put(t, "late.jpg", []byte("here now"))
	obj, err := s.Fetch(context.Background(), "late.jpg")
	if err != nil || string(obj.Body) != "here now" {
		t.Fatalf("got %v, %v; want the uploaded object", obj, err)
	}
	if n := gets(); n != 2 {
		t.Errorf("%d GETs, want 2", n)
	}
}
