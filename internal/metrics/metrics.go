// Package metrics exposes the server's counters to Prometheus. Counters the
// components already keep (cache tiers, worker pool, origin sharing,
// libvips memory, connections) are read at scrape time, so the request path pays only
// for what exists nowhere else: requests by status and tier, and latency.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/server"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// Sources are the components whose own counters are exported.
type Sources struct {
	Cache     func() cache.Stats
	Transform func() transform.Stats
	Originals func() origin.SharedStats
	Libvips   func() (bytes, highwater, allocs int64)
	// Connections is the public listener's connection limiter.
	Connections func() server.ConnStats
	// OriginHealth is the origin's health as /readyz sees it.
	OriginHealth func() origin.HealthStats
	// OriginSecretRefused counts requests refused for want of the origin
	// secret.
	OriginSecretRefused func() int64
}

// Metrics is the registry and the instruments the request path updates.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	transforms    *prometheus.HistogramVec
	originFetches *prometheus.HistogramVec
	originErrors  *prometheus.CounterVec

	// resolved holds each status and tier's instruments once looked up:
	// WithLabelValues hashes its labels under a lock on every call, and
	// formatting the status allocates, which a hit should not pay.
	resolved [len(tiers)][600]atomic.Pointer[requestInstruments]
}

// requestInstruments are one status and tier's counter and latency
// histogram.
type requestInstruments struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// tiers are the values of the cache label; "none" is a request that looked
// nothing up.
var tiers = [...]string{"none", string(cache.TierMemory), string(cache.TierDisk), string(cache.TierShared), string(cache.TierMiss)}

// New registers every metric.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imgproxy_requests_total", Help: "Requests by status code and cache tier (memory, disk, shared, miss; none when no lookup happened).",
		}, []string{"status", "cache"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "imgproxy_request_duration_seconds", Help: "Request latency by cache tier.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"cache"}),
		transforms: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "imgproxy_transform_duration_seconds", Help: "libvips transform time by output format.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"format"}),
		originFetches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "imgproxy_origin_fetch_duration_seconds", Help: "Origin fetches (after coalescing) by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"result"}),
		originErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imgproxy_origin_errors_total", Help: "Failed origin fetches by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.requests, m.latency, m.transforms, m.originFetches, m.originErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registerSources(src)
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one finished request.
func (m *Metrics) ObserveRequest(status int, tier string, d time.Duration) {
	if tier == "" {
		tier = "none"
	}
	ti := slices.Index(tiers[:], tier)
	if ti < 0 || status < 0 || status >= len(m.resolved[0]) {
		m.requests.WithLabelValues(strconv.Itoa(status), tier).Inc()
		m.latency.WithLabelValues(tier).Observe(d.Seconds())
		return
	}
	slot := &m.resolved[ti][status]
	in := slot.Load()
	if in == nil {
		// Two requests may both get here: they resolve the same
		// instruments, so either store is right.
		in = &requestInstruments{m.requests.WithLabelValues(strconv.Itoa(status), tier), m.latency.WithLabelValues(tier)}
		slot.Store(in)
	}
	in.count.Inc()
	in.latency.Observe(d.Seconds())
}

// ObserveTransform records one libvips transform.
func (m *Metrics) ObserveTransform(f params.Format, d time.Duration) {
	m.transforms.WithLabelValues(f.String()).Observe(d.Seconds())
}

// Origin wraps o so that every fetch it makes is timed and every failure
// counted by kind.
func (m *Metrics) Origin(o origin.Origin) origin.Origin { return &countingOrigin{o, m} }

type countingOrigin struct {
	origin.Origin
	m *Metrics
}

func (c *countingOrigin) Fetch(ctx context.Context, key string) (*origin.Object, error) {
	start := time.Now()
	obj, err := c.Origin.Fetch(ctx, key)
	kind := errorKind(err)
	result := "ok"
	if err != nil {
		result = "error"
		c.m.originErrors.WithLabelValues(kind).Inc()
	}
	c.m.originFetches.WithLabelValues(result).Observe(time.Since(start).Seconds())
	return obj, err
}

func errorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, origin.ErrNotFound):
		return "not_found"
	case errors.Is(err, origin.ErrTooLarge):
		return "too_large"
	case errors.Is(err, origin.ErrTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "failed"
}
