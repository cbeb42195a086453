package cli

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

const warmKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func signerFor(t *testing.T, keyHex, base string) *sign.Signer {
	t.Helper()
	k, _ := hex.DecodeString(keyHex)
	ring, err := urlsig.NewKeyRing([][]byte{k})
	if err != nil {
		t.Fatal(err)
	}
	return &sign.Signer{Ring: ring, BaseURL: base, Limits: params.DefaultLimits}
}

// startServe runs "imgproxy serve" on a directory origin on loopback and
// returns its base URL. env holds more settings as name, value pairs.
func startServe(t *testing.T, originDir string, env ...string) string {
	base, _ := startServeLogs(t, originDir, env...)
	return base
}

// startServeLogs is startServe, also returning the server's log.
func startServeLogs(t *testing.T, originDir string, env ...string) (string, *lockedBuffer) {
	t.Helper()
	t.Setenv("IMGPROXY_SIGNING_KEYS", warmKey)
	t.Setenv("IMGPROXY_ORIGIN_DIR", originDir)
	for i := 0; i < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	errOut := &lockedBuffer{}
	root := New()
	root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--cache-dir", t.TempDir()})
	root.SetOut(&out)
	root.SetErr(errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	re := regexp.MustCompile(`listening on (https?://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], errOut
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("serve stopped: %v\n%s", err, errOut.String())
		default:
		}
	}
	t.Fatalf("serve did not start:\n%s\n%s", out.String(), errOut.String())
	return "", nil
}

func runWarmCmd(ctx context.Context, args ...string) (string, error) {
	var out, errOut lockedBuffer
	root := New()
	root.SetArgs(append([]string{"warm"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	return out.String() + errOut.String(), err
}

// A built site's images are all requested once through a real server: the
// first run makes every variant, the second finds them all in memory;
// foreign and unsigned URLs are counted and never fetched; a URL signed
// with another key fails with a message that says so.
func TestWarmSite(t *testing.T) {
	origin := t.TempDir()
	os.WriteFile(filepath.Join(origin, "cat.jpg"), testimages.JPEG(testimages.Quadrants(400, 300)), 0o644)
	os.WriteFile(filepath.Join(origin, "dog.png"), testimages.PNG(testimages.Quadrants(300, 400)), 0o644)
	server := startServe(t, origin)

	const base = "https://img.example.com"
	s := signerFor(t, warmKey, base)
	u := func(key string, kv ...string) string {
		var ps []urlsig.Param
		for i := 0; i < len(kv); i += 2 {
			ps = append(ps, urlsig.Param{Name: kv[i], Value: kv[i+1]})
		}
		v, err := s.URL(key, ps)
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(v, "&", "&amp;")
	}
	site := t.TempDir()
	page := `<!doctype html><picture><source type="image/avif" srcset="` + u("cat.jpg", "fm", "avif", "w", "100") + ` 100w, ` +
		u("cat.jpg", "fm", "avif", "w", "200") + ` 200w"><img src="` + u("cat.jpg", "w", "200") + `" srcset="` +
		u("cat.jpg", "w", "100") + ` 100w, ` + u("cat.jpg", "w", "200") + ` 200w"></picture>
<img src="` + u("dog.png", "w", "50", "fm", "webp") + `"><img src="` + u("dog.png") + `">
<img src="https://elsewhere.example/x.jpg?s=abc"><img src="/static/logo.png"><img src="` + base + `/cat.jpg?w=10">`
	os.WriteFile(filepath.Join(site, "index.html"), []byte(page), 0o644)

	out, err := runWarmCmd(context.Background(), site, "--base-url", base, "--via", server)
	if err != nil || !strings.Contains(out, "warmed 6 of 6 URLs") || !strings.Contains(out, "status: 200 ×6") ||
		!strings.Contains(out, "cache:  miss ×6") || !strings.Contains(out, "2 on other hosts, 1 without a signature") {
		t.Fatalf("first warm (%v):\n%s", err, out)
	}
	out, err = runWarmCmd(context.Background(), site, "--base-url", base, "--via", server)
	if err != nil || !strings.Contains(out, "cache:  memory ×6") {
		t.Fatalf("second warm (%v):\n%s", err, out)
	}

	other := signerFor(t, strings.Repeat("ab", 32), base)
	forged, _ := other.URL("cat.jpg", []urlsig.Param{{Name: "w", Value: "64"}})
	list := filepath.Join(t.TempDir(), "urls.txt")
	os.WriteFile(list, []byte(forged+"\n"), 0o644)
	out, err = runWarmCmd(context.Background(), list, "--base-url", base, "--via", server)
	if code, ok := err.(exitError); !ok || code.code != 1 || !strings.Contains(out, "403 "+forged) ||
		!strings.Contains(out, "not one of the server's signing.keys") {
		t.Fatalf("forged URL (%v):\n%s", err, out)
	}
}

// Stopping (Ctrl-C cancels the same context) ends the run at once with the
// summary so far, even with every request hanging.
func TestWarmStopsPromptly(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	var urls []string
	for i := range 50 {
		urls = append(urls, "https://img.example.com/a.jpg?w="+string(rune('1'+i%9))+"&s="+strings.Repeat("x", i+1))
	}
	list := filepath.Join(t.TempDir(), "urls.txt")
	os.WriteFile(list, []byte(strings.Join(urls, "\n")), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	out, err := runWarmCmd(ctx, list, "--base-url", "https://img.example.com", "--via", hang.URL, "--concurrency", "4")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s to stop", took)
	}
	if err == nil || !strings.Contains(out, "stopped: 50 URLs not requested") {
		t.Errorf("%v:\n%s", err, out)
	}
}
