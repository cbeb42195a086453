package cli

import (
	"errors"
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

// stats reads a directory a server holds (its lock does not keep readers
// out), in human units; --verify exits 1 on a corrupt entry; a directory
// that is not a cache is refused.
func TestCacheStats(t *testing.T) {
	dir := t.TempDir()
	d, err := cache.OpenDisk(cache.DiskConfig{Dir: dir, Size: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i, obj := range []string{"a.jpg", "a.jpg", "b.jpg"} {
		d.Put(params.CacheKey("/"+obj+"?w="+string(rune('1'+i)), 0),
			&cache.Entry{Body: make([]byte, 1000), ObjectKey: obj, Created: time.Now()})
	}
	os.WriteFile(filepath.Join(dir, "tmp", "leftover"), []byte("x"), 0o644)
	t.Setenv("IMGPROXY_CACHE_DISK_SIZE", "1MiB")
	code, out, errOut := run(t, "", "", "cache", "stats", "--cache-dir", dir, "--verify")
	for _, want := range []string{"entries:   3 in 2 originals", " KiB of 1 MiB (0.3%)", "temp:      1 file", "corrupt:   0"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("stats lacks %q (exit %d, %s):\n%s", want, code, errOut, out)
		}
	}
	if code, _, errOut := run(t, "", "", "cache", "stats"); code != 1 || !strings.Contains(errOut, "no cache directory") {
		t.Errorf("no dir: %d %s", code, errOut)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "entries", "*", "*", "*"))
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)/2] ^= 1
	os.WriteFile(files[0], raw, 0o644)
	code, out, errOut = run(t, "", "", "cache", "stats", "--cache-dir", dir, "--verify")
	if code != 1 || !strings.Contains(out, "corrupt:   1") || !strings.Contains(errOut, "1 corrupt entry") {
		t.Errorf("verify with a corrupt entry: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := run(t, "", "", "cache", "stats", "--cache-dir", dir); code != 0 {
		t.Errorf("stats without --verify: exit %d", code)
	}

	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("mine"), 0o644)
	if code, out, errOut := run(t, "", "", "cache", "stats", "--cache-dir", home); code != 1 || !strings.Contains(errOut, "not a cache directory") || out != "" {
		t.Errorf("not a cache: exit %d %q %q", code, out, errOut)
	}
}

func TestHumanBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1500, "1.46 KiB"}, {3000, "2.93 KiB"},
		{1 << 20, "1 MiB"}, {39_111_111, "37.3 MiB"}, {10 << 30, "10 GiB"}, {1<<40 + 1<<39, "1.5 TiB"},
	} {
		if got := humanBytes(c.n); got != c.want {
			t.Errorf("humanBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// The CLI purges through the admin handler's guard, by the configured
// address or, for a wildcard one, by localhost; it prints the key the
// server read and the variants it removed, and exits 1 with the server's
// reason when it refuses.
func TestCachePurge(t *testing.T) {
	var got string
	n, purgeErr := 4, error(nil)
	srv := httptest.NewServer(admin.Handler("127.0.0.1:0", http.NotFoundHandler(),
		func(key string) (int, error) { got = key; return n, purgeErr }, nil, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	code, out, errOut := run(t, "", "", "cache", "purge", "--admin-addr", addr, "photos/a b+c.jpg")
	if code != 0 || got != "photos/a b+c.jpg" || out != "purged 4 variants of photos/a b+c.jpg\n" {
		t.Errorf("purge: %d %q %q %q", code, got, out, errOut)
	}
	for _, pasted := range []string{"/photos/x.jpg", "https://img.example.com/photos/x.jpg?w=400", "photos/%78.jpg"} {
		got = ""
		if code, out, errOut := run(t, "", "", "cache", "purge", "--admin-addr", addr, pasted); code != 0 || got != "photos/x.jpg" ||
			!strings.Contains(out, "of photos/x.jpg") {
			t.Errorf("purge %q: %d %q %q %q", pasted, code, got, out, errOut)
		}
	}
	got = ""
	if code, out, errOut := run(t, "", "", "cache", "purge", "--admin-addr", addr, "/bad//key"); code != 1 || got != "" || out != "" ||
		!strings.Contains(errOut, `refused "/bad//key": invalid key: object key has an empty path segment`) {
		t.Errorf("invalid key: %d %q %q %q", code, got, out, errOut)
	}
	n = 0
	if code, out, _ := run(t, "", "", "cache", "purge", "--admin-addr", addr, "x.jpg"); code != 0 || !strings.Contains(out, "nothing cached for x.jpg") {
		t.Errorf("nothing cached: %d %q", code, out)
	}
	purgeErr = errors.New("read-only file system")
	if code, _, errOut := run(t, "", "", "cache", "purge", "--admin-addr", addr, "x.jpg"); code != 1 || !strings.Contains(errOut, "read-only file system") {
		t.Errorf("incomplete purge: %d %q", code, errOut)
	}
	purgeErr = nil
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
