package transform

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// With every worker busy and the queue full, the next request is refused at
// once; a queued one gives up at the queue timeout or its own deadline.
func TestQueue(t *testing.T) {
	tr, err := New(Config{Workers: 1, Queue: 1, QueueTimeout: 50 * time.Millisecond, Limits: testLimits, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tr.acquire(ctx, 1); err != nil { // the only worker is now busy
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var queuedErr error
	go func() { // takes the only queue place, and times out there
		defer wg.Done()
		queuedErr = tr.acquire(ctx, 1)
	}()
	for tr.Stats().Waiting == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := tr.CheckCapacity(); !errors.Is(err, ErrOverloaded) {
		t.Errorf("full queue, CheckCapacity: %v", err)
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
	if err := tr.acquire(cctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("own deadline: %v", err)
	}
	tr.release()
	if err := tr.CheckCapacity(); err != nil {
		t.Errorf("a worker is free, CheckCapacity: %v", err)
	}
	if err := tr.acquire(ctx, 1); err != nil {
		t.Errorf("after release: %v", err)
	}
	tr.release()
}

// Waiting transforms hold their sources: the queue is bounded in bytes too.
func TestQueueBytes(t *testing.T) {
	tr, err := New(Config{Workers: 1, Queue: 10, QueueBytes: 1000, QueueTimeout: time.Second, Limits: testLimits, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.acquire(ctx, 1) // the worker is busy
	var wg sync.WaitGroup
	wait := func(size, total int64) {
		wg.Add(1)
		go func() { defer wg.Done(); tr.acquire(ctx, size) }()
		for tr.Stats().WaitingBytes != total {
			time.Sleep(time.Millisecond)
		}
	}
	wait(300, 300)
	if err := tr.CheckCapacity(); err != nil {
		t.Errorf("room for another 300 bytes, but: %v", err)
	}
	wait(600, 900)
	// Another of the waiting ones' average size (450) would not fit.
	if err := tr.CheckCapacity(); !errors.Is(err, ErrOverloaded) {
		t.Errorf("byte bound nearly reached: %v", err)
	}
	if err := tr.acquire(ctx, 200); !errors.Is(err, ErrOverloaded) {
		t.Errorf("over the byte bound: %v", err)
	}
	if tr.Stats().WaitingBytes != 900 {
		t.Errorf("refused bytes still counted: %d", tr.Stats().WaitingBytes)
	}
	cancel()
	wg.Wait()
	// One source larger than the bound, alone in the queue, still waits.
	tr2, _ := New(Config{Workers: 1, Queue: 10, QueueBytes: 1000, QueueTimeout: 20 * time.Millisecond, Limits: testLimits, Encoding: testEncoding})
	tr2.acquire(context.Background(), 1)
	if err := tr2.acquire(context.Background(), 5000); !errors.Is(err, ErrOverloaded) || !strings.Contains(err.Error(), "no worker free") {
		t.Errorf("a lone large source: %v", err)
	}
}

// A transform whose caller gives up is stopped inside libvips: the worker
// is free again long before the transform would have finished.
func TestTransformCancelled(t *testing.T) {
	tr := newTransformer(t)
	src := encodeJPEG(t, testimages.Noisy(1200, 800))
	o := opts(func(o *params.Options) { o.Width = 1200; o.Blur = 20 })
	start := time.Now()
	if _, err := tr.Transform(context.Background(), src, o, params.FormatAVIF); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	t.Logf("the whole transform takes %v", full)

	ctx, cancel := context.WithTimeout(context.Background(), full/10)
	defer cancel()
	start = time.Now()
	_, err := tr.Transform(ctx, src, o, params.FormatAVIF)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled transform: %v", err)
	}
	if took > full/2 {
		t.Errorf("cancelled after %v; the whole transform takes %v", took, full)
	}
	if s := tr.Stats(); s.Busy != 0 {
		t.Errorf("%d workers still busy", s.Busy)
	}
}
