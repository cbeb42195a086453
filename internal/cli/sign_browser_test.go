//go:build cgo

package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// The markup `sign --picture` prints must draw the image at the size asked
// for, whatever the window and the screen's density, and make the browser
// choose the candidate that is sharp without waste. Only a browser can say
// what it does with srcset and sizes, so this renders the markup in
// headless Chromium, with images from a real `imgproxy serve` behind a path
// prefix (the base URL's), and reads the drawn size and currentSrc.
func TestPictureMarkupInChromium(t *testing.T) {
	chromium := findChromium(t)
	const prefix = "/img"
	imgBase := serveForBrowser(t, prefix)

	// Each case: the sign flags, and per window width and device pixel
	// ratio the CSS width the image must be drawn at and the w of the
	// candidate the browser must pick.
	type view struct {
		width int
		dpr   float64
		cssW  int
		pickW string // the chosen candidate's w parameter
	}
	cases := []struct {
		name  string
		flags []string
		cssH  func(cssW int) int // 0: not checked
		views []view
	}{
		{"w alone", []string{"-w", "300"}, nil, []view{
			{1200, 1, 300, "300"}, {1200, 2, 300, "300"}, {250, 1, 250, "300"},
		}},
		// 600 real pixels, drawn 300 wide: dense enough for a 2x screen.
		{"dpr 2", []string{"-w", "300", "--dpr", "2"}, nil, []view{
			{1200, 1, 300, "300"}, {1200, 2, 300, "300"},
		}},
		{"widths with w and h", []string{"-w", "400", "-h", "300", "--widths", "1200,400,800"},
			func(w int) int { return w * 3 / 4 }, []view{
				{1200, 1, 400, "400"}, {1200, 2, 400, "800"}, {1200, 3, 400, "1200"}, {200, 2, 200, "400"},
			}},
	}

	br := launchChromium(t, chromium)
	for _, c := range cases {
		code, markup, errOut := signWithBase(t, imgBase+prefix, append([]string{"sign", "photos/big.jpg", "--picture"}, c.flags...)...)
		if code != 0 {
			t.Fatalf("%s: sign: %s", c.name, errOut)
		}
		page := markupPage(t, markup)
		for _, v := range c.views {
			got := br.render(t, page, v.width, v.dpr)
			where := fmt.Sprintf("%s at %dpx, dpr %g", c.name, v.width, v.dpr)
			if got.Width != float64(v.cssW) {
				t.Errorf("%s: drawn %gpx wide, want %dpx\n%s", where, got.Width, v.cssW, markup)
			}
			if c.cssH != nil && got.Height != float64(c.cssH(v.cssW)) {
				t.Errorf("%s: drawn %gpx high, want %dpx", where, got.Height, c.cssH(v.cssW))
			}
			// The image's own size in CSS pixels, from its real pixels and
			// the descriptor: a descriptor that lies about the pixels makes
			// it disagree with the layout.
			if got.NaturalWidth != float64(v.cssW) {
				t.Errorf("%s: natural width %g CSS px, want %d (the descriptor is not the real width)", where, got.NaturalWidth, v.cssW)
			}
			u, err := url.Parse(got.CurrentSrc)
			if err != nil || u.Query().Get("w") != v.pickW || u.Query().Get("fm") != "avif" || !strings.HasPrefix(u.Path, prefix+"/") {
				t.Errorf("%s: chose %s, want the AVIF candidate with w=%s under %s", where, got.CurrentSrc, v.pickW, prefix)
			}
		}
	}
}

func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("IMGPROXY_TEST_TOOLS_REQUIRED") != "" {
		t.Fatal("chromium is not installed (scripts/test.sh installs it)")
	}
	t.Skip("chromium is not installed; scripts/test.sh installs it")
	return ""
}

// serveForBrowser runs `imgproxy serve` in-process on loopback, on a directory
// holding one 2400x1800 photo, behind a path prefix; it returns the URL of
// the listener.
func serveForBrowser(t *testing.T, prefix string) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "photos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "photos", "big.jpg"), testimages.JPEG(testimages.Photo(2400, 1800)), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Chdir(t.TempDir())
	t.Setenv("IMGPROXY_SIGNING_KEYS", vectorKey)
	t.Setenv("IMGPROXY_ORIGIN_DIR", dir)
	t.Setenv("IMGPROXY_SERVER_PATH_PREFIX", prefix)
	t.Setenv("IMGPROXY_CACHE_DISK_DIR", "")
	ctx, cancel := context.WithCancel(context.Background())
	root := New()
	root.SetArgs([]string{"serve", "--addr", addr, "--admin-addr", ""})
	root.SetOut(io.Discard)
	var logs lockedBuffer
	root.SetErr(&logs)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
	}
}

// signWithBase runs the CLI with the signing key and a base URL.
func signWithBase(t *testing.T, base string, args ...string) (int, string, string) {
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", base)
	var out, errOut strings.Builder
	code := Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// markupPage serves the markup in a page with the one rule responsive
// pages pair it with: never wider than the container, height kept in ratio.
func markupPage(t *testing.T, markup string) string {
	page := "<!doctype html><meta charset=utf-8><style>body{margin:0} img{max-width:100%;height:auto}</style>\n" + markup
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

type renderedImg struct {
	Width, Height, NaturalWidth float64
	CurrentSrc                  string
}

// cdpBrowser is headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4, each
// message ending in a NUL byte).
type cdpBrowser struct {
	mu      sync.Mutex
	w       io.Writer
	next    int
	waiting map[int]chan cdpReply
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func launchChromium(t *testing.T, path string) *cdpBrowser {
	toChrome, chromeIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	chromeOut, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // its fd 3 and fd 4
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	fromChrome.Close()
	t.Cleanup(func() {
		chromeIn.Close() // Chromium exits when its command pipe closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	b := &cdpBrowser{w: chromeIn, waiting: map[int]chan cdpReply{}}
	go func() {
		r := bufio.NewReader(chromeOut)
		for {
			msg, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var m struct {
				ID int `json:"id"`
				cdpReply
			}
			if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
				continue // an event
			}
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m.cdpReply
			}
		}
	}()
	return b
}

// call sends one command (to a page when session is set) and decodes its
// result into out.
func (b *cdpBrowser) call(t *testing.T, session, method string, params, out any) {
	t.Helper()
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	_, err := b.w.Write(append(data, 0))
	b.mu.Unlock()
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			t.Fatalf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer from chromium", method)
	}
}

// newTab opens an empty tab in a fresh browser context (no image cached
// from another case) with a window of width x height CSS pixels at dpr,
// and returns its session and what closes it.
func (b *cdpBrowser) newTab(t *testing.T, width, height int, dpr float64) (session string, done func()) {
	t.Helper()
	var ctx struct {
		BrowserContextID string `json:"browserContextId"`
	}
	b.call(t, "", "Target.createBrowserContext", map[string]any{}, &ctx)
	done = func() {
		b.call(t, "", "Target.disposeBrowserContext", map[string]any{"browserContextId": ctx.BrowserContextID}, nil)
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(t, "", "Target.createTarget", map[string]any{"url": "about:blank", "browserContextId": ctx.BrowserContextID}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.call(t, att.SessionID, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": width, "height": height, "deviceScaleFactor": dpr, "mobile": false}, nil)
	return att.SessionID, done
}

// render opens page in a fresh browser context (no image cached from
// another case) with the given window width and device pixel ratio, waits
// for the image, and measures it.
func (b *cdpBrowser) render(t *testing.T, page string, width int, dpr float64) renderedImg {
	t.Helper()
	s, done := b.newTab(t, width, 900, dpr)
	defer done()
	b.call(t, s, "Page.navigate", map[string]any{"url": page}, nil)
	const measure = `(() => {
		const i = document.querySelector("img");
		if (!i || !i.complete || !i.naturalWidth || document.readyState !== "complete") return "";
		const r = i.getBoundingClientRect();
		return JSON.stringify({width: r.width, height: r.height, naturalWidth: i.naturalWidth, currentSrc: i.currentSrc});
	})()`
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var res struct {
			Result struct {
				Value string `json:"value"`
			} `json:"result"`
		}
		b.call(t, s, "Runtime.evaluate", map[string]any{"expression": measure, "returnByValue": true}, &res)
		if res.Result.Value != "" {
			var r renderedImg
			if err := json.Unmarshal([]byte(res.Result.Value), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("%s at %dpx, dpr %g: the image did not load", page, width, dpr)
	return renderedImg{}
}
