package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Origin faults between the server and a real S3 server: each is answered
// 502 or 504 within the origin timeout, nothing partial is cached in either
// tier, the SDK's retries are bounded, and the next request after the
// fault clears succeeds.
func TestOriginFaultInjection(t *testing.T) {
	const timeout = time.Second
	for _, c := range []struct {
		name        string
		fault       s3test.Fault
		status      int
		maxRequests int64 // reaching the proxy for one client request
	}{
		{"refused", s3test.Refuse, 502, 3},
		{"slow", s3test.Delay, 504, 3},
		{"500s", s3test.Error500, 502, 3},
		{"body cut", s3test.CutBody, 502, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			bucket := s3test.Bucket(t)
			proxy := s3test.NewFaultProxy(t, bucket.Endpoint)
			s := newStack(t, func(o *stackOptions) {
				o.s3, o.endpoint, o.originTimeout, o.diskDir = &bucket, proxy.Endpoint(), timeout, t.TempDir()
			})
			s.s3.Put(t, "a.jpg", testimages.JPEG(testimages.Quadrants(300, 200)))
			u := s.sign("a.jpg", "w", "50")

			proxy.Set(c.fault, 5*time.Second)
			start := time.Now()
			r := s.get(u)
			took := time.Since(start)
			if r.status != c.status {
				t.Errorf("status %d %q, want %d", r.status, r.body, c.status)
			}
			if took > timeout+500*time.Millisecond {
				t.Errorf("answered after %v; the origin timeout is %v", took, timeout)
			}
			if n := proxy.Requests(); n < 1 || n > c.maxRequests {
				t.Errorf("%d requests reached the origin; retries must be bounded by %d", n, c.maxRequests)
			}
			st := s.cache.Stats()
			if st.Memory.Entries != 0 || st.Disk.Entries != 0 || s.shared.Stats().Cache.Entries != 0 {
				t.Errorf("something was cached: %+v, originals %+v", st, s.shared.Stats().Cache)
			}

			proxy.Set(s3test.Pass, 0)
			if r := s.get(u); r.status != 200 || r.header.Get("X-Cache") != "miss" {
				t.Errorf("after the fault cleared: %d %s", r.status, r.header.Get("X-Cache"))
			}
		})
	}
}

// With the origin completely down, every variant already in a cache tier
// is still served.
func TestOriginDownServesCached(t *testing.T) {
	bucket := s3test.Bucket(t)
	proxy := s3test.NewFaultProxy(t, bucket.Endpoint)
	s := newStack(t, func(o *stackOptions) {
		o.s3, o.endpoint, o.originTimeout, o.diskDir = &bucket, proxy.Endpoint(), time.Second, t.TempDir()
		o.memory = 60_000 // small: most variants live only on disk
	})
	s.s3.Put(t, "a.jpg", testimages.JPEG(testimages.Noisy(600, 400)))
	s.s3.Put(t, "never-fetched.jpg", testimages.JPEG(testimages.Quadrants(10, 10)))
	var urls []string
	for w := 100; w < 140; w++ {
		u := s.sign("a.jpg", "w", strconv.Itoa(w))
		if r := s.get(u); r.status != 200 {
			t.Fatal(r.status)
		}
		urls = append(urls, u)
	}
	proxy.Set(s3test.Refuse, 0)
	served, tiers := 0, map[string]int{}
	// Newest first: they are the ones still in memory; older ones come from
	// disk (and, promoted, push the newest out of memory).
	for i := len(urls) - 1; i >= 0; i-- {
		if r := s.get(urls[i]); r.status == 200 {
			served++
			tiers[r.header.Get("X-Cache")]++
		}
	}
	if served != len(urls) {
		t.Errorf("origin down: served %d of %d cached variants", served, len(urls))
	}
	if tiers["disk"] == 0 || tiers["memory"] == 0 {
		t.Errorf("tiers %v: the test should exercise both", tiers)
	}
	if r := s.get(s.sign("never-fetched.jpg", "w", "5")); r.status != 502 {
		t.Errorf("an uncached variant with the origin down: %d", r.status)
	}
}
