package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// HealthConfig says when an origin counts as failing.
type HealthConfig struct {
	// Failures is how many fetches in a row must fail or time out, with no
	// answer between them, for the origin to count as failing; 0 never.
	Failures int
	// Window is how close together those failures must be: five failures
	// over a quiet day are bad luck, not an outage.
	Window time.Duration
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// probeEvery is how often a failing origin is probed, at most: readiness
// checks are what drive the probe, and they come every few seconds.
const probeEvery = 5 * time.Second

// probeTimeout bounds one probe when the origin sets no tighter limit.
const probeTimeout = 30 * time.Second

// ErrOriginFailing is what Health.Err wraps while the origin is failing.
var ErrOriginFailing = errors.New("origin failing")

// Health wraps an Origin and watches its fetches: after Failures failed or
// timed-out fetches in a row within Window it counts as failing, until the
// next fetch the origin answers (a 404 is an answer). A server taken out of
// rotation for it gets no more fetches, so while it is failing, Err also
// starts a background probe (at most every few seconds) whose success ends
// it: a fetch of the last key that was fetched, which credentials allowed
// to read objects can always make, or before any, a listing of one key.
type Health struct {
	origin Origin
	cfg    HealthConfig

	mu       sync.Mutex
	recent   []time.Time // failure times of the current streak, the last cfg.Failures
	streak   int
	failing  bool
	last     error // the last failure
	probing  bool
	probedAt time.Time
	lastGood string // the last key fetched without error, for probes
}

var _ Origin = (*Health)(nil)

// NewHealth wraps o.
func NewHealth(o Origin, c HealthConfig) *Health {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Health{origin: o, cfg: c}
}

// Fetch fetches from the wrapped origin and records the outcome.
func (h *Health) Fetch(ctx context.Context, key string) (*Object, error) {
	obj, err := h.origin.Fetch(ctx, key)
	if ctx.Err() == nil { // a caller that gave up says nothing about the origin
		h.record(err)
	}
	if err == nil {
		h.mu.Lock()
		h.lastGood = key
		h.mu.Unlock()
	}
	return obj, err
}

// MarkFailing makes the origin count as failing now, for err (a failed
// startup check): not ready until a fetch or a probe succeeds.
func (h *Health) MarkFailing(err error) {
	if h.cfg.Failures <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.streak = err, max(h.streak, h.cfg.Failures)
	h.setFailing(true)
}

// record counts a fetch's outcome: failed and timed-out fetches are
// failures; any other outcome, errors such as a missing original included,
// is an answer from a working origin.
func (h *Health) record(err error) {
	if h.cfg.Failures <= 0 {
		return
	}
	failed := errors.Is(err, ErrFailed) || errors.Is(err, ErrTimeout)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !failed {
		h.recent, h.streak, h.last = h.recent[:0], 0, nil
		h.setFailing(false)
		return
	}
	now := h.cfg.Now()
	h.streak++
	h.last = err
	h.recent = append(h.recent, now)
	if len(h.recent) > h.cfg.Failures {
		h.recent = h.recent[1:]
	}
	if len(h.recent) == h.cfg.Failures && now.Sub(h.recent[0]) <= h.cfg.Window {
		h.setFailing(true)
	}
}

// setFailing changes the state and logs the change, once. h.mu is held.
func (h *Health) setFailing(failing bool) {
	if failing == h.failing {
		return
	}
	h.failing = failing
	if failing {
		h.cfg.Logger.Error("origin failing: /readyz answers 503 until it answers again",
			"consecutive_failures", h.streak, "err", h.last)
	} else {
		h.cfg.Logger.Info("origin answers again: ready")
	}
}

// Err is nil while the origin works, else an error wrapping
// ErrOriginFailing with the last failure. While failing, it starts a probe
// when none ran lately.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.failing {
		return nil
	}
	l, canList := h.origin.(Lister)
	if (canList || h.lastGood != "") && !h.probing && h.cfg.Now().Sub(h.probedAt) >= probeEvery {
		h.probing = true
		go h.probe(h.lastGood, l)
	}
	return fmt.Errorf("%w: %d fetches in a row failed or timed out; the last: %w", ErrOriginFailing, h.streak, h.last)
}

// probe fetches key, or when it is "" lists one key, and records the
// outcome as a fetch's.
func (h *Health) probe(key string, l Lister) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var err error
	if key != "" {
		_, err = h.origin.Fetch(ctx, key)
	} else {
		_, err = l.List(ctx, 1)
	}
	if err != nil && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrFailed) {
		err = fmt.Errorf("%w: probe: %w", ErrFailed, err)
	}
	h.record(err)
	h.mu.Lock()
	h.probing, h.probedAt = false, h.cfg.Now()
	h.mu.Unlock()
}

// HealthStats is the origin's health for metrics.
type HealthStats struct {
	Failing bool
	Streak  int // failed or timed-out fetches since the last answer
}

// Stats returns the current health.
func (h *Health) Stats() HealthStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HealthStats{Failing: h.failing, Streak: h.streak}
}
