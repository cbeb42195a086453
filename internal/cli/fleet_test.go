//go:build cgo

package cli

import (
	"bufio"
	"bytes"
	"image"
	_ "image/jpeg" // decode the responses
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// A fleet: two `imgproxy serve` processes on one originals bucket (each
// through a proxy that counts its object GETs) and one results bucket, on
// a versitygw of the test's own so that it can be stopped.
//
//   - A variant B has never seen, transformed by A, is served by B from the
//     shared tier: no transform and no original GET on B, by its metrics
//     and by the proxy.
//   - B restarted on an empty disk serves it from the shared tier again.
//   - A purge through A while B is stopped (the original replaced) is
//     applied by B when it starts, before it serves: B's disk copy is not
//     served. A purge while B runs reaches it within the purge interval.
//   - With the results bucket's server stopped, both still serve and
//     transform, and say so in /readyz.
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	originals := s3test.Bucket(t)
	resultsServer := s3test.StartServer(t)
	results := resultsServer.Bucket(t)
	originals.Put(t, "cat.jpg", testimages.JPEG(testimages.Photo(400, 300)))
	proxyA, _ := objectGetLog(t, originals.Endpoint)
	proxyB, getsB := objectGetLog(t, originals.Endpoint)
	env := func(proxy, cacheDir string) []string {
		e := []string{
			"IMGPROXY_SERVER_ADDR=127.0.0.1:0", "IMGPROXY_SERVER_ADMIN_ADDR=127.0.0.1:0", "IMGPROXY_LOG_LEVEL=warn",
			"IMGPROXY_CACHE_DISK_DIR=" + cacheDir,
			"IMGPROXY_CACHE_SHARED_BUCKET=" + results.Bucket, "IMGPROXY_CACHE_SHARED_ENDPOINT=" + results.Endpoint,
			"IMGPROXY_CACHE_SHARED_ACCESS_KEY_ID=" + results.AccessKey,
			"IMGPROXY_CACHE_SHARED_SECRET_ACCESS_KEY=" + results.SecretKey,
			"IMGPROXY_CACHE_SHARED_PURGE_INTERVAL=200ms",
		}
		for k, v := range s3Env(originals, originals.Bucket) {
			e = append(e, k+"="+v)
		}
		return append(e, "IMGPROXY_ORIGIN_S3_ENDPOINT="+proxy) // after s3Env's: the last one counts
	}
	diskB := t.TempDir()
	a := startServer(t, env(proxyA, t.TempDir()))
	b := startServer(t, env(proxyB, diskB))
	u := signedPath(t, "cat.jpg", "w", "100")

	if tier, w, h := fetch(t, a, u); tier != "miss" || w != 100 || h != 75 {
		t.Fatalf("A: %s %dx%d, want a 100x75 miss", tier, w, h)
	}
	waitUntil(t, "A's write to the shared tier", func() bool {
		return metric(t, a, `imgproxy_cache_shared_writes_total{result="written"}`) >= 1
	})
	if tier, w, h := fetch(t, b, u); tier != "shared" || w != 100 || h != 75 {
		t.Errorf("B: %s %dx%d, want a 100x75 shared hit", tier, w, h)
	}
	if n := metric(t, b, "imgproxy_transform_duration_seconds_count"); n != 0 {
		t.Errorf("B transformed %v times", n)
	}
	if n := metric(t, b, "imgproxy_origin_fetches_total"); n != 0 {
		t.Errorf("B fetched %v originals, by its metrics", n)
	}
	if g := getsB(); len(g) != 0 {
		t.Errorf("B fetched %v, by the proxy", g)
	}

	// Restarted on an empty disk.
	stopServer(b)
	b = startServer(t, env(proxyB, t.TempDir()))
	if tier, _, _ := fetch(t, b, u); tier != "shared" {
		t.Errorf("B restarted on an empty disk: %s, want shared", tier)
	}
	if n := metric(t, b, "imgproxy_transform_duration_seconds_count"); n != 0 || len(getsB()) != 0 {
		t.Errorf("B restarted: %v transforms, original GETs %v", n, getsB())
	}

	// Stopped during a purge: B's disk (diskB) holds the old 100x75.
	stopServer(b)
	originals.Put(t, "cat.jpg", testimages.JPEG(testimages.Photo(200, 100)))
	purge(t, a, "cat.jpg")
	b = startServer(t, env(proxyB, diskB))
	if tier, w, h := fetch(t, b, u); tier == "disk" || w != 100 || h != 50 {
		t.Errorf("B started after a purge: %s %dx%d, want the new original's 100x50, not its disk copy", tier, w, h)
	}

	// Running during a purge: within the interval (200ms; the bound
	// allowed here is generous for a loaded machine).
	fetch(t, b, u)
	originals.Put(t, "cat.jpg", testimages.JPEG(testimages.Photo(300, 100)))
	purge(t, a, "cat.jpg")
	start := time.Now()
	waitUntil(t, "the purge to reach B", func() bool {
		_, w, h := fetch(t, b, u)
		return w == 100 && h == 33
	})
	t.Logf("the purge reached B after %v", time.Since(start).Round(time.Millisecond))

	// The results bucket's server stopped.
	resultsServer.Stop()
	for i, p := range []*serverProcess{a, b} {
		for _, w := range []string{"100", "60"} {
			v := signedPath(t, "cat.jpg", "w", w)
			if tier, got, _ := fetch(t, p, v); got != atoi(w) {
				t.Errorf("server %d, w=%s with the results server stopped: %s, %d wide", i, w, tier, got)
			}
		}
		waitUntil(t, "/readyz to show the shared tier failing", func() bool {
			return strings.Contains(httpGet(t, p.base+"/readyz").body, "degraded: shared cache tier failing")
		})
	}
}

// fetch GETs a signed path and returns its X-Cache and the image's size,
// failing the test unless it is a 200 image.
func fetch(t *testing.T, p *serverProcess, path string) (tier string, w, h int) {
	t.Helper()
	res, err := http.Get(p.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d %s\n%s", path, res.StatusCode, body, p.stderr.String())
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res.Header.Get("X-Cache"), cfg.Width, cfg.Height
}

// metric sums the samples of a metric on the server's /metrics whose line
// starts with name (a name, or a name and its labels).
func metric(t *testing.T, p *serverProcess, name string) float64 {
	t.Helper()
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(httpGet(t, "http://"+p.admin+"/metrics").body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest[0] != ' ' && rest[0] != '{' && !strings.HasSuffix(name, "}") {
			continue // a longer name
		}
		v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

func purge(t *testing.T, p *serverProcess, key string) {
	t.Helper()
	res, err := http.Post("http://"+p.admin+"/purge?key="+key, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("purge %s: %d %s", key, res.StatusCode, b)
	}
}

// stopServer stops a server process as a deployment would (SIGTERM) and
// waits for it, so that its disk directory is free for the next one.
func stopServer(p *serverProcess) {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
