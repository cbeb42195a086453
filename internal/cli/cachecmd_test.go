package cli

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/admin"
	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

func TestCacheStats(t *testing.T) {
	dir := t.TempDir()
	d, err := cache.OpenDisk(cache.DiskConfig{Dir: dir, Size: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i, obj := range []string{"a.jpg", "a.jpg", "b.jpg"} {
		d.Put(params.CacheKey("/"+obj+"?w="+string(rune('1'+i)), 0),
			&cache.Entry{Body: make([]byte, 1000), ObjectKey: obj, Created: time.Now()})
	}
	os.WriteFile(filepath.Join(dir, "tmp", "leftover"), []byte("x"), 0o644)
	t.Setenv("IMGPROXY_CACHE_DISK_SIZE", "1MiB")
	code, out, errOut := run(t, "", "", "cache", "stats", "--cache-dir", dir, "--verify")
	for _, want := range []string{"entries:   3 in 2 originals", "of 1MiB", "temp:      1 file", "corrupt:   0"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("stats lacks %q (exit %d, %s):\n%s", want, code, errOut, out)
		}
	}
	if code, _, errOut := run(t, "", "", "cache", "stats"); code != 1 || !strings.Contains(errOut, "no cache directory") {
		t.Errorf("no dir: %d %s", code, errOut)
	}
}

// The CLI purges through the admin handler's guard, by the configured
// address or, for a wildcard one, by localhost.
func TestCachePurge(t *testing.T) {
	var got string
	srv := httptest.NewServer(admin.Handler("127.0.0.1:0", http.NotFoundHandler(), func(key string) int { got = key; return 4 }, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	code, out, errOut := run(t, "", "", "cache", "purge", "--admin-addr", addr, "photos/a b+c.jpg")
	if code != 0 || got != "photos/a b+c.jpg" || !strings.Contains(out, "purged 4 cached variant(s) of photos/a b+c.jpg") {
		t.Errorf("purge: %d %q %q %q", code, got, out, errOut)
	}
	_, port, _ := net.SplitHostPort(addr)
	got = ""
	if code, _, errOut := run(t, "", "", "cache", "purge", "--admin-addr", ":"+port, "x.jpg"); code != 0 || got != "x.jpg" {
		t.Errorf("purge by a wildcard address: %d %q %q", code, got, errOut)
	}
	if code, _, errOut := run(t, "", "", "cache", "purge", "--admin-addr", "", "x.jpg"); code != 1 || !strings.Contains(errOut, "no admin listener") {
		t.Errorf("admin off: %d %q", code, errOut)
	}
	srv.Close()
	if code, _, errOut := run(t, "", "", "cache", "purge", "--admin-addr", addr, "x.jpg"); code != 1 || !strings.Contains(errOut, "is the server running") {
		t.Errorf("no server: %d %q", code, errOut)
	}
}
