package transform

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// With every worker busy and the queue full, the next request is refused at
// once; a queued one gives up at the queue timeout or its own deadline.
func TestQueue(t *testing.T) {
	tr, err := New(Config{Workers: 1, Queue: 1, QueueTimeout: 50 * time.Millisecond, Limits: testLimits, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tr.acquire(ctx); err != nil { // the only worker is now busy
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var queuedErr error
	go func() { // takes the only queue place, and times out there
		defer wg.Done()
		queuedErr = tr.acquire(ctx)
	}()
	for tr.Stats().Waiting == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	_, err = tr.Transform(ctx, encodeJPEG(t, quadrants(8, 8)), opts(nil), params.FormatJPEG)
	if !errors.Is(err, ErrOverloaded) || time.Since(start) > 20*time.Millisecond {
		t.Errorf("full queue: %v after %v", err, time.Since(start))
	}
	wg.Wait()
	if !errors.Is(queuedErr, ErrOverloaded) {
		t.Errorf("queue timeout: %v", queuedErr)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := tr.acquire(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("own deadline: %v", err)
	}
	tr.release()
	if err := tr.acquire(ctx); err != nil {
		t.Errorf("after release: %v", err)
	}
	tr.release()
}
