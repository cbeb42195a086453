package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imgproxy-team/imgproxy/internal/cache"
)

// registerSources exports the components' own counters, read at scrape time.
func (m *Metrics) registerSources(src Sources) {
	gauge := func(name, help string, labels prometheus.Labels, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	counter := func(name, help string, labels prometheus.Labels, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	mem, disk := prometheus.Labels{"tier": "memory"}, prometheus.Labels{"tier": "disk"}
	if src.Cache != nil {
		c := src.Cache
		gauge("imgproxy_cache_bytes", "Bytes held by a cache tier.", mem, func() float64 { return float64(c().Memory.Used) })
		gauge("imgproxy_cache_budget_bytes", "Byte budget of a cache tier.", mem, func() float64 { return float64(c().Memory.Budget) })
		gauge("imgproxy_cache_entries", "Entries in a cache tier.", mem, func() float64 { return float64(c().Memory.Entries) })
		counter("imgproxy_cache_evictions_total", "Entries evicted to stay within budget.", mem, func() float64 { return float64(c().Memory.Evictions) })
		counter("imgproxy_cache_fills_total", "Misses that ran an origin fetch and transform.", nil, func() float64 { return float64(c().Fills) })
		counter("imgproxy_cache_coalesced_total", "Requests that waited for another request's identical work.", nil, func() float64 { return float64(c().Coalesced) })
		if c().Disk != nil {
			d := func() cache.DiskStats { return *c().Disk }
			gauge("imgproxy_cache_bytes", "Bytes held by a cache tier.", disk, func() float64 { return float64(d().Used) })
			gauge("imgproxy_cache_budget_bytes", "Byte budget of a cache tier.", disk, func() float64 { return float64(d().Budget) })
			gauge("imgproxy_cache_entries", "Entries in a cache tier.", disk, func() float64 { return float64(d().Entries) })
			counter("imgproxy_cache_evictions_total", "Entries evicted to stay within budget.", disk, func() float64 { return float64(d().Evictions) })
			counter("imgproxy_cache_corrupt_entries_total", "Disk entries that failed their checksum and were removed.", nil, func() float64 { return float64(d().Corrupt) })
			counter("imgproxy_cache_disk_errors_total", "Disk tier read and write failures.", nil, func() float64 { return float64(d().WriteErrors + d().ReadErrors) })
			gauge("imgproxy_cache_disk_degraded", "1 while the disk tier skips writes after a failure.", nil, func() float64 { return b2f(d().Degraded) })
		}
		if c().Shared != nil {
			registerShared(gauge, counter, func() cache.SharedStats { return *c().Shared })
		}
	}
	if src.Transform != nil {
		t := src.Transform
		gauge("imgproxy_transform_queue_depth", "Transforms waiting for a worker.", nil, func() float64 { return float64(t().Waiting) })
		gauge("imgproxy_transform_busy_workers", "Workers running a transform.", nil, func() float64 { return float64(t().Busy) })
		gauge("imgproxy_transform_queue_bytes", "Source bytes held by transforms waiting for a worker.", nil, func() float64 { return float64(t().WaitingBytes) })
	}
	if src.Originals != nil {
		o := src.Originals
		counter("imgproxy_origin_fetches_total", "Origin fetches after coalescing and the originals cache.", nil, func() float64 { return float64(o().Fetches) })
		counter("imgproxy_originals_cache_hits_total", "Originals served from the short-lived originals cache.", nil, func() float64 { return float64(o().Hits) })
		counter("imgproxy_origin_coalesced_total", "Fetches that waited for another request's fetch of the same original.", nil, func() float64 { return float64(o().Coalesced) })
	}
	if src.OriginSecretRefused != nil {
		f := src.OriginSecretRefused
		counter("imgproxy_origin_secret_refused_total", "Requests refused for a missing or wrong X-Origin-Secret.", nil, func() float64 { return float64(f()) })
	}
	if src.OriginHealth != nil {
		h := src.OriginHealth
		gauge("imgproxy_origin_failing", "1 while the origin counts as failing and /readyz answers 503 for it.", nil, func() float64 { return b2f(h().Failing) })
		gauge("imgproxy_origin_consecutive_failures", "Origin fetches in a row that failed or timed out.", nil, func() float64 { return float64(h().Streak) })
	}
	if src.Connections != nil {
		c := src.Connections
		gauge("imgproxy_connections_open", "Open connections to the public listener.", nil, func() float64 { return float64(c().Open) })
		gauge("imgproxy_connections_idle", "Open connections idle between requests.", nil, func() float64 { return float64(c().Idle) })
		gauge("imgproxy_connections_max", "The bound on open connections (server.max_connections).", nil, func() float64 { return float64(c().Max) })
		counter("imgproxy_connections_refused_total", "Connections answered 503 at the bound, none being idle.", nil, func() float64 { return float64(c().Refused) })
		counter("imgproxy_connections_idle_closed_total", "Idle connections closed to make room for new ones.", nil, func() float64 { return float64(c().IdleClosed) })
	}
	if src.Libvips != nil {
		l := src.Libvips
		gauge("imgproxy_libvips_memory_bytes", "Memory libvips has allocated.", nil, func() float64 { b, _, _ := l(); return float64(b) })
		gauge("imgproxy_libvips_memory_highwater_bytes", "libvips' allocation high-water mark.", nil, func() float64 { _, h, _ := l(); return float64(h) })
		gauge("imgproxy_libvips_allocations", "Live libvips allocations.", nil, func() float64 { _, _, a := l(); return float64(a) })
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// registerShared exports the shared tier's counters.
func registerShared(gauge, counter func(string, string, prometheus.Labels, func() float64), s func() cache.SharedStats) {
	read := func(result string, f func(cache.SharedStats) int64) {
		counter("imgproxy_cache_shared_reads_total", "Shared tier reads by result.", prometheus.Labels{"result": result},
			func() float64 { return float64(f(s())) })
	}
	read("hit", func(s cache.SharedStats) int64 { return s.Hits })
	read("miss", func(s cache.SharedStats) int64 { return s.Misses - s.Corrupt })
	read("corrupt", func(s cache.SharedStats) int64 { return s.Corrupt })
	read("error", func(s cache.SharedStats) int64 { return s.GetErrors })
	read("skipped", func(s cache.SharedStats) int64 { return s.Skipped })
	write := func(result string, f func(cache.SharedStats) int64) {
		counter("imgproxy_cache_shared_writes_total", "Shared tier writes by result.", prometheus.Labels{"result": result},
			func() float64 { return float64(f(s())) })
	}
	write("written", func(s cache.SharedStats) int64 { return s.Writes })
	write("exists", func(s cache.SharedStats) int64 { return s.Exists })
	write("touched", func(s cache.SharedStats) int64 { return s.Touches })
	write("error", func(s cache.SharedStats) int64 { return s.PutErrors })
	write("dropped_full", func(s cache.SharedStats) int64 { return s.DroppedFull })
	write("dropped_failing", func(s cache.SharedStats) int64 { return s.DroppedUnavailable })
	counter("imgproxy_cache_shared_purge_errors_total", "Purges that could not remove an original's variants from the shared tier.", nil,
		func() float64 { return float64(s().PurgeErrors) })
	gauge("imgproxy_cache_shared_queue_writes", "Shared tier writes waiting or running.", nil, func() float64 { return float64(s().QueuedWrites) })
	gauge("imgproxy_cache_shared_queue_bytes", "Bytes of shared tier writes waiting or running.", nil, func() float64 { return float64(s().QueuedBytes) })
	gauge("imgproxy_cache_shared_failing", "1 while the shared tier's store is failing and left alone.", nil, func() float64 { return b2f(s().Failing) })
}
