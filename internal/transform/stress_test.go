package transform

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Many transforms at once, some abandoned at random moments: libvips is
// stopped mid-computation again and again, and nothing crashes or leaks a
// worker.
func TestCancellationStress(t *testing.T) {
	tr, err := New(Config{Workers: 2, Queue: 64, QueueTimeout: 5 * time.Second, Limits: testLimits, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	src := encodeJPEG(t, testimages.Noisy(800, 600))
	formats := []params.Format{params.FormatJPEG, params.FormatWebP, params.FormatPNG, params.FormatAVIF}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			for i := 0; i < 12; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(40))*time.Millisecond)
				o := opts(func(o *params.Options) { o.Width = 200 + r.IntN(400); o.Blur = float64(r.IntN(5)) })
				out, err := tr.Transform(ctx, src, o, formats[r.IntN(len(formats))])
				cancel()
				if err == nil && len(out.Body) == 0 {
					t.Error("empty output without an error")
				}
			}
		}(uint64(g))
	}
	wg.Wait()
	if s := tr.Stats(); s.Busy != 0 || s.Waiting != 0 {
		t.Errorf("after the storm: %+v", s)
	}
	// Still working.
	if _, err := tr.Transform(context.Background(), src, opts(func(o *params.Options) { o.Width = 100 }), params.FormatWebP); err != nil {
		t.Errorf("after the storm: %v", err)
	}
}
