package cli

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// TestHelperServe is not a test: the crash test runs this test binary as a
// server process, so that it can kill it with SIGKILL.
func TestHelperServe(t *testing.T) {
	if os.Getenv("IMGPROXY_TEST_HELPER") != "serve" {
		t.Skip("helper process for TestCrashSafety")
	}
	os.Exit(Main([]string{"serve"}, os.Stdin, os.Stdout, os.Stderr))
}

type serverProcess struct {
	cmd    *exec.Cmd
	base   string
	admin  string        // the admin listener's address, when it has one
	stderr *lockedBuffer // the server's log, for a failure message
}

func startServer(t *testing.T, env []string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), append(env, "IMGPROXY_TEST_HELPER=serve")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
		admin := regexp.MustCompile(`admin on (127\.0\.0\.1:\d+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				var a []string
				if a = admin.FindStringSubmatch(sc.Text()); a == nil {
					a = []string{"", ""}
				}
				found <- [2]string{m[1], a[1]}
			}
		}
	}()
	select {
	case addr := <-found:
		return &serverProcess{cmd: cmd, base: addr[0], admin: addr[1], stderr: &stderr}
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start:\n%s", stderr.String())
		return nil
	}
}

// SIGKILL while the server writes its disk cache under load; on restart
// there are no stray temp files, every entry passes its checksum, and every
// response is a correct image.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	root := t.TempDir()
	origDir, cacheDir := filepath.Join(root, "orig"), filepath.Join(root, "cache")
	os.MkdirAll(origDir, 0o755)
	os.WriteFile(filepath.Join(origDir, "photo.jpg"), testimages.JPEG(testimages.Noisy(800, 600)), 0o644)
	env := []string{
		"IMGPROXY_SIGNING_KEYS=" + vectorKey,
		"IMGPROXY_SIGNING_BASE_URL=",
		"IMGPROXY_ORIGIN_DIR=" + origDir,
		"IMGPROXY_CACHE_DISK_DIR=" + cacheDir,
		"IMGPROXY_SERVER_ADDR=127.0.0.1:0",
		"IMGPROXY_SERVER_ADMIN_ADDR=127.0.0.1:0",
		"IMGPROXY_LOG_LEVEL=error",
	}
	key, _ := hex.DecodeString(vectorKey)
	ring, _ := urlsig.NewKeyRing([][]byte{key})
	s := &sign.Signer{Ring: ring, Limits: params.DefaultLimits}
	var urls []string
	for w := 100; w < 400; w++ {
		u, err := s.URL("photo.jpg", []urlsig.Param{{Name: "w", Value: fmt.Sprint(w)}, {Name: "q", Value: "90"}})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, u)
	}

	srv := startServer(t, env)
	client := &http.Client{Timeout: 20 * time.Second}
	var next, served atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1)) - 1
				if i >= len(urls) {
					return
				}
				if res, err := client.Get(srv.base + urls[i]); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == 200 {
						served.Add(1)
					}
				}
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); served.Load() < 20; {
		if time.Now().After(deadline) || next.Load() >= int64(len(urls)) && served.Load() < 20 {
			close(stop)
			wg.Wait()
			t.Fatalf("the server answered %d of %d requests with 200; its log:\n%s", served.Load(), next.Load(), srv.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	close(stop)
	wg.Wait()
	srv.cmd.Wait()

	// Whether the kill caught a write in flight is luck; a half-written
	// temp file is what it leaves when it does, so make sure there is one.
	before, _ := cache.Scan(cacheDir, false)
	t.Logf("killed after %d responses; %d entries, %d temp files", served.Load(), before.Entries, before.TempFiles)
	os.WriteFile(filepath.Join(cacheDir, "tmp", "interrupted"), []byte("IPXC half an ent"), 0o644)

	srv = startServer(t, env)
	u, err := cache.Scan(cacheDir, true)
	if err != nil {
		t.Fatal(err)
	}
	if u.TempFiles != 0 || u.Corrupt != 0 || u.Entries < 10 {
		t.Errorf("after the crash and restart: %+v", u)
	}
	for i, path := range urls[:min(next.Load(), int64(len(urls)))] {
		res, err := client.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || err != nil || img.Bounds().Dx() != 100+i {
			t.Errorf("%s: %d, %v", path, res.StatusCode, err)
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("clean shutdown: %v", err)
	}
}
