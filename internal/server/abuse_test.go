package server

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Forged, mutated, reordered and expired URLs at full speed cost nothing:
// zero origin requests, zero disk reads, no transform, flat memory.
func TestAbuseCostsNothing(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.diskDir = t.TempDir() })
	s.fixtures()
	good := s.sign("photo.jpg", "w", "100", "fm", "webp")
	sigAt := strings.Index(good, "&s=") + 3
	expired := s.sign("photo.jpg", "w", "100", "exp", "1000")
	variants := []func(i int) string{
		func(i int) string { // forged: one signature character changed
			b := []byte(good)
			b[sigAt+i%43] ^= 1
			return string(b)
		},
		func(i int) string { // mutated parameter value
			return strings.Replace(good, "w=100", "w="+strconv.Itoa(101+i%500), 1)
		},
		func(i int) string { return strings.Replace(good, "fm=webp&w=100", "w=100&fm=webp", 1) }, // reordered
		func(i int) string { return strings.Replace(good, "&s=", "&v=x"+strconv.Itoa(i)+"&s=", 1) },
		func(i int) string { return expired },
		func(i int) string { return good + "&cb=" + strconv.Itoa(i) }, // cache-busting suffix
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	get := func(path string) int {
		req, _ := http.NewRequest("GET", s.url+"/", nil)
		req.URL.Opaque = path
		res, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	// Warm up the connection pool and the runtime before measuring.
	for i := 0; i < 200; i++ {
		get(variants[i%len(variants)](i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const total = 12000
	var next, ok2xx atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				if st := get(variants[i%len(variants)](i)); st < 400 {
					ok2xx.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if ok2xx.Load() != 0 {
		t.Errorf("%d abusive requests were answered with success", ok2xx.Load())
	}
	st := s.cache.Stats()
	if g := s.gets(); g != 0 || st.Fills != 0 || st.Disk.Hits+st.Disk.Misses != 0 || s.tr.Stats().Done != 0 {
		t.Errorf("abuse caused %d origin GETs, %d fills, %d disk reads, %d transforms",
			g, st.Fills, st.Disk.Hits+st.Disk.Misses, s.tr.Stats().Done)
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 8<<20 {
		t.Errorf("heap grew by %d KiB over %d requests", grew>>10, total)
	}
}

// Ten times more concurrent distinct misses than workers: the excess is
// refused quickly with 503, the queued ones complete, memory stays bounded.
func TestOverloadOfMisses(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.workers, o.queue = 2, 4 })
	s.s3.Put(t, "big.jpg", testimages.JPEG(testimages.Noisy(1600, 1200)))
	if r := s.get(s.sign("big.jpg", "w", "10")); r.status != 200 { // original now in the originals cache
		t.Fatal(r.status)
	}
	before := rss(t)
	var wg sync.WaitGroup
	type result struct {
		status int
		took   time.Duration
	}
	results := make(chan result, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			start := time.Now()
			r := s.get(s.sign("big.jpg", "w", strconv.Itoa(1000+i), "fm", "webp"))
			results <- result{r.status, time.Since(start)}
		}(i)
	}
	wg.Wait()
	close(results)
	counts := map[int]int{}
	for r := range results {
		counts[r.status]++
		if r.status == 503 && r.took > 500*time.Millisecond {
			t.Errorf("a refusal took %v", r.took)
		}
	}
	if counts[503] == 0 || counts[200] < 6 || counts[200]+counts[503] != 20 {
		t.Errorf("statuses %v: want the 2 running and 4 queued served, the rest 503", counts)
	}
	if grew := rss(t) - before; grew > 200<<20 {
		t.Errorf("RSS grew by %d MiB", grew>>20)
	}
}

// Oversized headers are 431; thousands of idle connections neither blow
// up goroutines or memory, and are closed by the read-header timeout.
func TestBadRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	defer cancel()
	h := New(Config{Ring: newStackRing(t)}, nil, nil, nil)
	go Serve(ctx, ln, h, Timeouts{ReadHeader: time.Second, Request: time.Second, Idle: time.Second, Shutdown: time.Second}, discardLogger())
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/photo.jpg?s=x", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 20<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %d", res.StatusCode)
	}
}

func TestIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Ring: newStackRing(t)}, nil, nil, nil)
	ctx, cancel := contextWithCancel()
	defer cancel()
	go Serve(ctx, ln, h, Timeouts{ReadHeader: time.Second, Request: 5 * time.Second, Idle: time.Second, Shutdown: time.Second}, discardLogger())

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	const n = 2000
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	if g := runtime.NumGoroutine() - g0; g > n+50 {
		t.Errorf("%d goroutines for %d idle connections", g, n)
	}
	if grew := int64(during.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
		t.Errorf("heap grew by %d MiB for %d idle connections", grew>>20, n)
	}
	// The read-header timeout closes every one of them.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > g0+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine() - g0; g > 20 {
		t.Errorf("%d goroutines left after the read-header timeout", g)
	}
	buf := make([]byte, 1)
	conns[0].SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conns[0].Read(buf); err == nil {
		t.Error("idle connection still open")
	}
}
