package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// inProcessServer is serve run in this process, started by startInProcess.
type inProcessServer struct {
	base, admin string
	out, errOut *lockedBuffer
	done        chan error
}

// startInProcess runs serve with args until the test ends. It returns nil
// with serve's error when serve ends before it listens.
func startInProcess(t *testing.T, args ...string) (*inProcessServer, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &inProcessServer{out: &lockedBuffer{}, errOut: &lockedBuffer{}, done: make(chan error, 1)}
	root := New()
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...))
	root.SetOut(s.out)
	root.SetErr(s.errOut)
	go func() { s.done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+) \(admin on (127\.0\.0\.1:\d+)\)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-s.done:
			s.done <- err // for the cleanup
			return nil, err
		default:
		}
		if m := re.FindStringSubmatch(s.out.String()); m != nil {
			s.base, s.admin = m[1], m[2]
			return s, nil
		}
	}
	t.Fatalf("serve did not start:\n%s", s.errOut.String())
	return nil, nil
}

type answer struct {
	status int
	cache  string
	body   string
}

func httpGet(t *testing.T, u string) answer {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header.Get("X-Cache"), string(b)}
}

func cacheDirEnv(t *testing.T) (origDir string, s *sign.Signer) {
	t.Helper()
	t.Chdir(t.TempDir())
	t.Setenv("IMGPROXY_SIGNING_KEYS", vectorKey)
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", "")
	origDir = t.TempDir()
	os.WriteFile(filepath.Join(origDir, "photo.jpg"), testimages.JPEG(testimages.Quadrants(200, 100)), 0o644)
	key, _ := urlsig.ParseKeys([]string{vectorKey})
	ring, _ := urlsig.NewKeyRing(key)
	return origDir, &sign.Signer{Ring: ring, Limits: params.DefaultLimits}
}

// A cache directory that cannot be written at start no longer stops the
// server: it serves from memory and the origin, /readyz and the metrics say
// the disk tier is degraded, and once the directory is usable the tier
// writes again without a restart. Root ignores permissions: a file stands
// where the directory should be.
func TestServeUnwritableCacheDir(t *testing.T) {
	origDir, signer := cacheDirEnv(t)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	os.WriteFile(cacheDir, []byte("not a directory"), 0o644)
	s, err := startInProcess(t, "--origin-dir", origDir, "--cache-dir", cacheDir)
	if err != nil {
		t.Fatalf("serve refused to start on an unwritable cache directory: %v", err)
	}
	url := func(w int) string {
		u, err := signer.URL("photo.jpg", []urlsig.Param{{Name: "w", Value: fmt.Sprint(w)}})
		if err != nil {
			t.Fatal(err)
		}
		return s.base + u
	}
	if r := httpGet(t, url(50)); r.status != 200 || r.cache != "miss" {
		t.Errorf("miss while degraded: %d %q", r.status, r.cache)
	}
	if r := httpGet(t, url(50)); r.status != 200 || r.cache != "memory" {
		t.Errorf("repeat while degraded: %d %q", r.status, r.cache)
	}
	if r := httpGet(t, s.base+"/readyz"); r.status != 503 || !strings.HasPrefix(r.body, "not ready: ") ||
		!strings.Contains(r.body, "cache directory") || strings.Contains(r.body, cacheDir) {
		t.Errorf("/readyz while degraded: %d %q", r.status, r.body)
	}
	if r := httpGet(t, "http://"+s.admin+"/metrics"); !strings.Contains(r.body, "imgproxy_cache_disk_degraded 1") {
		t.Errorf("metrics while degraded lack imgproxy_cache_disk_degraded 1")
	}
	if !strings.Contains(s.errOut.String(), "not usable at start") {
		t.Errorf("no log line says why:\n%s", s.errOut.String())
	}

	os.Remove(cacheDir)
	if r := httpGet(t, s.base+"/readyz"); r.status != 200 {
		t.Errorf("/readyz once the directory is usable: %d %q", r.status, r.body)
	}
	if r := httpGet(t, url(60)); r.status != 200 || r.cache != "miss" {
		t.Errorf("miss after recovery: %d %q", r.status, r.cache)
	}
	if u, err := cache.Scan(cacheDir, true); err != nil || u.Entries != 1 || u.Corrupt != 0 {
		t.Errorf("the disk tier after recovery: %+v %v", u, err)
	}
	if r := httpGet(t, "http://"+s.admin+"/metrics"); !strings.Contains(r.body, "imgproxy_cache_disk_degraded 0") {
		t.Errorf("metrics after recovery lack imgproxy_cache_disk_degraded 0")
	}
}

// A second server on a cache directory another server holds refuses to
// start, naming the holder's pid; `cache stats` still reads the directory;
// the lock goes with the holder, even when it is killed.
func TestServeOneServerPerCacheDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	origDir, _ := cacheDirEnv(t)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	first := startServer(t, []string{
		"IMGPROXY_SIGNING_KEYS=" + vectorKey, "IMGPROXY_SIGNING_BASE_URL=",
		"IMGPROXY_ORIGIN_DIR=" + origDir, "IMGPROXY_CACHE_DISK_DIR=" + cacheDir,
		"IMGPROXY_SERVER_ADDR=127.0.0.1:0", "IMGPROXY_SERVER_ADMIN_ADDR=127.0.0.1:0", "IMGPROXY_LOG_LEVEL=error",
	})
	s, err := startInProcess(t, "--origin-dir", origDir, "--cache-dir", cacheDir)
	if s != nil || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("in use by another server (pid %d)", first.cmd.Process.Pid)) {
		t.Fatalf("second server on one cache directory: started %v, %v", s != nil, err)
	}
	if code, out, errOut := run(t, "", "", "cache", "stats", "--cache-dir", cacheDir); code != 0 || !strings.Contains(out, "entries:   0") {
		t.Errorf("stats while a server holds the directory: %d %q %q", code, out, errOut)
	}
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.cmd.Wait()
	d, err := cache.OpenDisk(cache.DiskConfig{Dir: cacheDir, Size: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	d.Close()
}
