package cache

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// How the caches' costs grow with what they hold. Sizes come from the
// environment so that the long runs (a million disk entries: a few GB of
// files) are a command away and CI runs the code once on small sizes:
//
//	IMGPROXY_BENCH_DISK_ENTRIES=10000,100000,1000000 go test -run '^$' \
//	    -bench 'Scale' -benchtime 1x ./internal/cache
//
// scripts/bench-scale.sh runs them with those sizes, three times each.

func scaleSizes(b *testing.B, env string, def ...int) []int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s: %q is not a positive number", env, f)
		}
		out = append(out, n)
	}
	return out
}

// A restart on a disk tier holding n entries from a previous run: the time
// until OpenDisk returns (the server serves from then on), the time to a
// hit of an entry the index has not reached yet, and the time until the
// background index holds all of them; each should not grow with n, but
// the last, which is per entry.
func BenchmarkDiskStartScale(b *testing.B) {
	for _, n := range scaleSizes(b, "IMGPROXY_BENCH_DISK_ENTRIES", 1_000, 10_000) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			body := make([]byte, 1000)
			var last string
			var lastKey params.Key
			for i := range n {
				obj := fmt.Sprintf("photos/%d.jpg", i/4)
				key := params.CacheKey(fmt.Sprintf("/%s?w=%d", obj, i%4), params.FormatDefault)
				k := diskKey(obj, key)
				p := filepath.Join(dir, "entries", k[:2], k)
				if i%4 == 0 {
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						b.Fatal(err)
					}
				}
				e := &Entry{Body: body, ContentType: "image/webp", ObjectKey: obj, Created: time.Now()}
				if err := os.WriteFile(p, encodeEntry(e), 0o644); err != nil {
					b.Fatal(err)
				}
				last, lastKey = obj, key
			}
			var open, first, indexed time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				d, err := OpenDisk(DiskConfig{Dir: dir, Size: int64(n) * 2000, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				open += time.Since(start)
				e, ok := d.Get(last, lastKey)
				if !ok || len(e.Body) != len(body) {
					b.Fatal("an entry of the previous run was not served")
				}
				first += time.Since(start)
				d.WaitScanned()
				indexed += time.Since(start)
				if s := d.Stats(); s.Entries != n {
					b.Fatalf("indexed %d of %d", s.Entries, n)
				}
				d.Close()
			}
			per := float64(b.N)
			b.ReportMetric(float64(open.Microseconds())/per/1000, "open-ms")
			b.ReportMetric(float64(first.Microseconds())/per/1000, "first-hit-ms")
			b.ReportMetric(float64(indexed.Microseconds())/per/1000, "indexed-ms")
			b.ReportMetric(float64(indexed.Nanoseconds())/per/float64(n), "index-ns/entry")
		})
	}
}

// The disk index with n entries: its memory per entry, and the cost of an
// insert at a full budget (one eviction each), which should stay flat.
func BenchmarkDiskIndexScale(b *testing.B) {
	for _, n := range scaleSizes(b, "IMGPROXY_BENCH_INDEX_ENTRIES", 10_000, 100_000, 1_000_000) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			keys := make([]string, b.N)
			for i := range keys {
				keys[i] = indexKey(n + i)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			x := newDiskIndex(int64(n) * 1000)
			for i := range n {
				x.add(indexKey(i), 1000) // the name's bytes are the index's to keep
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perEntry := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			b.ResetTimer()
			for i := range b.N {
				x.reserve(keys[i], 1000)
			}
			b.ReportMetric(perEntry, "index-B/entry")
			runtime.KeepAlive(x)
		})
	}
}

// indexKey is the diskKey of entry i: both parts digests, as real ones are.
func indexKey(i int) string {
	obj := fmt.Sprintf("photos/%d.jpg", i/4)
	return diskKey(obj, params.CacheKey(fmt.Sprintf("/%s?w=%d", obj, i%4), params.FormatDefault))
}

// A memory hit with n variants in the same byte budget (smaller entries
// as n grows), asked in random order: the time per hit should stay flat.
func BenchmarkMemoryHitScale(b *testing.B) {
	const budget = 512 << 20
	for _, n := range scaleSizes(b, "IMGPROXY_BENCH_MEMORY_ENTRIES", 1_000, 10_000, 100_000, 1_000_000) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			c := New(Config{MemorySize: budget})
			bodySize := budget/n - 400 // the entry's own allowance (Entry.size) and headroom
			body := make([]byte, bodySize)
			objs := make([]string, n)
			keys := make([]params.Key, n)
			for i := range n {
				objs[i] = fmt.Sprintf("photos/%d.jpg", i)
				keys[i] = params.CacheKey("/"+objs[i]+"?w=400", params.FormatDefault)
				c.remember(keys[i], &Entry{Body: body, ContentType: "image/webp", ObjectKey: objs[i], Created: time.Now()})
			}
			order := rand.Perm(n)
			for _, i := range order[:min(n, 1000)] {
				if _, tier, ok := c.Lookup(objs[i], keys[i]); !ok || tier != TierMemory {
					b.Fatalf("entry %d of %d not in memory (%d bytes each)", i, n, bodySize)
				}
			}
			b.ResetTimer()
			for j := range b.N {
				i := order[j%n]
				e, _, _ := c.Lookup(objs[i], keys[i])
				e.Release()
			}
		})
	}
}
