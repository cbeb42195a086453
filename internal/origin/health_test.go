package origin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// scripted answers each Fetch with the error in err (nil: an object) and
// each List with listErr.
type scripted struct {
	mu      sync.Mutex
	err     error
	listErr error
	lists   int
}

func (s *scripted) Fetch(ctx context.Context, key string) (*origin.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return &origin.Object{Body: []byte("x")}, nil
}

func (s *scripted) List(ctx context.Context, n int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return nil, s.listErr
}

func (s *scripted) set(fetch, list error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err, s.listErr = fetch, list
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newHealth(o origin.Origin, clock *fakeClock) *origin.Health {
	return origin.NewHealth(o, origin.HealthConfig{Failures: 3, Window: time.Minute,
		Logger: slog.New(slog.DiscardHandler), Now: clock.Now})
}

func fetchN(h *origin.Health, n int) {
	for range n {
		h.Fetch(context.Background(), "k")
	}
}

var (
	errFailed   = fmt.Errorf("%w: s3 get: status 403 SignatureDoesNotMatch", origin.ErrFailed)
	errTimeout  = fmt.Errorf("%w: s3 get: no answer", origin.ErrTimeout)
	errNotFound = fmt.Errorf("%w: s3 get: status 404", origin.ErrNotFound)
)

func TestHealthCountsConsecutiveFailures(t *testing.T) {
	// Listings fail throughout: Err starts a probe once failing, and a
	// probe that succeeded in the background would end the failure
	// between Err and Stats.
	for _, tc := range []struct {
		name    string
		run     func(h *origin.Health, o *scripted, c *fakeClock)
		failing bool
	}{
		{"two failures are not enough", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errFailed, errFailed)
			fetchN(h, 2)
		}, false},
		{"three failures", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errFailed, errFailed)
			fetchN(h, 3)
		}, true},
		{"timeouts count", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errTimeout, errFailed)
			fetchN(h, 3)
		}, true},
		{"404s are answers", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errNotFound, errFailed)
			fetchN(h, 10)
		}, false},
		{"a 404 breaks the streak", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errFailed, errFailed)
			fetchN(h, 2)
			o.set(errNotFound, errFailed)
			fetchN(h, 1)
			o.set(errFailed, errFailed)
			fetchN(h, 2)
		}, false},
		{"failures spread beyond the window", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errFailed, errFailed)
			for range 5 {
				fetchN(h, 1)
				c.add(40 * time.Second)
			}
		}, false},
		{"recovers on the next success", func(h *origin.Health, o *scripted, c *fakeClock) {
			o.set(errFailed, errFailed)
			fetchN(h, 3)
			o.set(nil, nil)
			fetchN(h, 1)
		}, false},
		{"a failed startup check", func(h *origin.Health, o *scripted, c *fakeClock) {
			h.MarkFailing(errFailed)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, c := &scripted{listErr: errFailed}, &fakeClock{now: time.Unix(1e9, 0)}
			h := newHealth(o, c)
			tc.run(h, o, c)
			err := h.Err()
			if failing := err != nil; failing != tc.failing {
				t.Fatalf("Err() = %v, want failing %v", err, tc.failing)
			}
			if err != nil && (!errors.Is(err, origin.ErrOriginFailing) || !errors.Is(err, origin.ErrFailed) && !errors.Is(err, origin.ErrTimeout)) {
				t.Errorf("Err() = %v: want ErrOriginFailing and the last failure", err)
			}
			if h.Stats().Failing != tc.failing {
				t.Errorf("Stats %+v", h.Stats())
			}
		})
	}
}

// A caller that gives up says nothing about the origin.
func TestHealthIgnoresCallersThatGiveUp(t *testing.T) {
	o, c := &scripted{}, &fakeClock{now: time.Unix(1e9, 0)}
	h := newHealth(o, c)
	o.set(errTimeout, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 {
		h.Fetch(ctx, "k")
	}
	if err := h.Err(); err != nil {
		t.Errorf("failing after canceled fetches: %v", err)
	}
}

// A failing origin out of rotation gets no fetches: Err probes it (at most
// every few seconds), and a probe that lists ends the failure.
func TestHealthProbeRecovers(t *testing.T) {
	o, c := &scripted{}, &fakeClock{now: time.Unix(1e9, 0)}
	h := newHealth(o, c)
	o.set(errFailed, errFailed)
	fetchN(h, 3)
	waitProbes := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			o.mu.Lock()
			got := o.lists
			o.mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d probes, want %d", got, n)
			}
			h.Err()
			time.Sleep(time.Millisecond)
		}
	}
	waitProbes(1)
	time.Sleep(20 * time.Millisecond) // the probe records its failure
	for range 10 {
		h.Err() // within probeEvery: no new probe
	}
	o.mu.Lock()
	lists := o.lists
	o.mu.Unlock()
	if lists != 1 || h.Err() == nil {
		t.Fatalf("%d probes; failing %v", lists, h.Err())
	}
	o.set(errFailed, nil) // the origin is back; nothing fetches
	c.add(10 * time.Second)
	waitProbes(2)
	for deadline := time.Now().Add(5 * time.Second); h.Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("a successful probe did not end the failure")
		}
		time.Sleep(time.Millisecond)
	}
}

// Failures 0 turns the tracking off.
func TestHealthOff(t *testing.T) {
	o := &scripted{}
	h := origin.NewHealth(o, origin.HealthConfig{Failures: 0, Window: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	o.set(errFailed, nil)
	fetchN(h, 100)
	h.MarkFailing(errFailed)
	if err := h.Err(); err != nil {
		t.Errorf("Err with tracking off: %v", err)
	}
}

// Credentials that may read objects but not list the bucket: the probe
// fetches the last key that worked, so a failing origin out of rotation
// still recovers without a listing.
func TestHealthProbeFetchesLastGoodKey(t *testing.T) {
	o, c := &scripted{}, &fakeClock{now: time.Unix(1e9, 0)}
	h := newHealth(o, c)
	fetchN(h, 1) // "k" works
	o.set(errFailed, errFailed)
	fetchN(h, 3)
	o.set(nil, errFailed) // objects readable again; listing never allowed
	for deadline := time.Now().Add(5 * time.Second); h.Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("a probe of the last good key did not end the failure")
		}
		time.Sleep(time.Millisecond)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lists != 0 {
		t.Errorf("%d listings; the probe should fetch", o.lists)
	}
}
