package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// When an original changes and is purged, its variants get new ETags: a
// browser or CDN revalidating with the old one gets the new bytes, not a
// 304, from memory, from disk and after a restart; the unchanged variant
// keeps its ETag across the restart.
func TestETagFollowsTheOriginal(t *testing.T) {
	for _, from := range []string{"dir", "s3"} {
		t.Run(from, func(t *testing.T) {
			root := t.TempDir()
			mod := func(memory int64) func(*stackOptions) {
				return func(o *stackOptions) {
					o.diskDir, o.memory = filepath.Join(root, "cache"), memory
					if from == "dir" {
						o.dir = filepath.Join(root, "origin")
						os.MkdirAll(o.dir, 0o755)
					}
				}
			}
			s := newStack(t, mod(64<<20))
			s.put("cat.jpg", testimages.JPEG(testimages.Quadrants(200, 100)))
			u := s.sign("cat.jpg", "w", "50")
			first := s.get(u)
			old := first.header.Get("ETag")
			if first.status != 200 || old == "" {
				t.Fatalf("%d, ETag %q", first.status, old)
			}
			if r := s.get(u, "If-None-Match", old); r.status != 304 {
				t.Fatalf("unchanged, memory: %d", r.status)
			}

			// A restart over the same disk: the same ETag from disk.
			s.close()
			bucket := s.s3
			s = newStack(t, func(o *stackOptions) {
				mod(0)(o)
				if from == "s3" {
					o.s3 = &bucket
				}
			})
			if r := s.get(u, "If-None-Match", old); r.status != 304 || r.header.Get("X-Cache") != "disk" {
				t.Fatalf("after a restart: %d, X-Cache %q", r.status, r.header.Get("X-Cache"))
			}

			// The original changes and is purged.
			s.put("cat.jpg", testimages.JPEG(testimages.Quadrants(100, 200)))
			s.shared.Forget("cat.jpg")
			if n, err := s.cache.Purge("cat.jpg"); n == 0 || err != nil {
				t.Fatal("nothing purged")
			}
			for _, tier := range []string{"miss", "disk"} {
				r := s.get(u, "If-None-Match", old)
				if r.status != 200 || r.header.Get("X-Cache") != tier {
					t.Fatalf("changed original, %s: %d, X-Cache %q", tier, r.status, r.header.Get("X-Cache"))
				}
				if _, w, h := measure(t, r); w != 50 || h != 100 {
					t.Errorf("changed original, %s: %dx%d, want the new 50x100", tier, w, h)
				}
				if e := r.header.Get("ETag"); e == old || e == "" {
					t.Errorf("changed original, %s: ETag %q, was %q", tier, e, old)
				}
			}
		})
	}
}
