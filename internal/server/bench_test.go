package server

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// discard is a ResponseWriter that keeps nothing, so a benchmark measures
// the handler, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchHandler(b testing.TB, diskDir string, memory int64) (*Handler, *sign.Signer) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), testimages.JPEG(testimages.Quadrants(400, 300)), 0o644)
	src, err := origin.NewDir(dir, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := transform.New(transform.Config{Workers: 1, Queue: 1, QueueTimeout: time.Second,
		Limits:   transform.Limits{MaxSourcePixels: 1e8, MaxOutputDim: 8192},
		Encoding: transform.Encoding{QualityJPEG: 80, QualityWebP: 80, QualityAVIF: 60, EffortWebP: 4, EffortAVIF: 2}})
	if err != nil {
		b.Fatal(err)
	}
	var disk *cache.Disk
	if diskDir != "" {
		disk, _ = cache.OpenDisk(cache.DiskConfig{Dir: diskDir, Size: 1 << 30, Logger: slog.New(slog.DiscardHandler)})
	}
	key, _ := hex.DecodeString(testKeyHex)
	ring, _ := urlsig.NewKeyRing([][]byte{key})
	h := New(Config{Ring: ring, Limits: params.DefaultLimits, CacheControl: "public, max-age=31536000, immutable",
		Timeout: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))},
		src, tr, cache.New(cache.Config{MemorySize: memory, FillTimeout: 10 * time.Second, Disk: disk}))
	return h, &sign.Signer{Ring: ring, Limits: params.DefaultLimits}
}

func benchServe(b *testing.B, h *Handler, target string) {
	req, _ := http.NewRequestWithContext(context.Background(), "GET", target, nil)
	req.RequestURI = target
	req.RemoteAddr = "127.0.0.1:5000"
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req) // fill
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkMemoryHit(b *testing.B) {
	h, s := benchHandler(b, "", 64<<20)
	u, _ := s.URL("a.jpg", []urlsig.Param{{Name: "w", Value: "100"}, {Name: "fm", Value: "webp"}})
	benchServe(b, h, u)
}

func BenchmarkDiskHit(b *testing.B) {
	h, s := benchHandler(b, b.TempDir(), 0)
	u, _ := s.URL("a.jpg", []urlsig.Param{{Name: "w", Value: "100"}, {Name: "fm", Value: "webp"}})
	benchServe(b, h, u)
}

func BenchmarkForged(b *testing.B) {
	h, s := benchHandler(b, "", 64<<20)
	u, _ := s.URL("a.jpg", []urlsig.Param{{Name: "w", Value: "100"}, {Name: "fm", Value: "webp"}})
	forged := []byte(u)
	forged[len(forged)-5] ^= 1
	benchServe(b, h, string(forged))
}

// A memory hit allocates nothing in the handler's own code (net/http's
// allocations aside): the URL, options, recorder and request record come
// from a pool, and the response's header values were made with the entry.
// With -race, sync.Pool drops items at random, so this runs without it.
func TestMemoryHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	h, s := benchHandler(t, "", 64<<20)
	u, _ := s.URL("a.jpg", []urlsig.Param{{Name: "w", Value: "100"}, {Name: "fm", Value: "webp"}})
	req, _ := http.NewRequestWithContext(context.Background(), "GET", u, nil)
	req.RequestURI = u
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req) // fill
	if n := testing.AllocsPerRun(100, func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}); n != 0 {
		t.Errorf("a memory hit allocates %v times", n)
	}
}

// Refusing a forged URL allocates nothing of ours either: a flood of them
// should cost no more than it must.
func TestForgedAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	h, s := benchHandler(t, "", 64<<20)
	u, _ := s.URL("a.jpg", []urlsig.Param{{Name: "w", Value: "100"}, {Name: "fm", Value: "webp"}})
	forged := []byte(u)
	forged[len(forged)-5] ^= 1
	req, _ := http.NewRequestWithContext(context.Background(), "GET", string(forged), nil)
	req.RequestURI = string(forged)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req) // makes the kept response
	if n := testing.AllocsPerRun(100, func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}); n != 0 {
		t.Errorf("a forged URL allocates %v times", n)
	}
}

// BenchmarkMemoryHitLogged is BenchmarkMemoryHit with the access log on:
// one JSON line per request, written to /dev/null through the writer
// serve uses, so that what the log costs is measured (a write call each
// when unbuffered).
func BenchmarkMemoryHitLogged(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	for _, c := range []struct {
		name string
		w    io.Writer
	}{{"unbuffered", devnull}, {"buffered", NewLogWriter(devnull, time.Second)}} {
		b.Run(c.name, func(b *testing.B) {
			h, s := benchHandler(b, "", 64<<20)
			h.cfg.AccessLog = slog.New(slog.NewJSONHandler(c.w, nil))
			u, _ := s.URL("a.jpg", []urlsig.Param{{Name: "w", Value: "100"}, {Name: "fm", Value: "webp"}})
			benchServe(b, h, u)
		})
	}
}
