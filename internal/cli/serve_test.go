package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve --dev prints URLs that work, over real HTTP, and stops cleanly.
func TestServeDev(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("IMGPROXY_SIGNING_KEYS", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	root := New()
	cacheDir := t.TempDir()
	root.SetArgs([]string{"serve", "--dev", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--cache-dir", cacheDir})
	root.SetOut(&out)
	root.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "mint more") {
		if time.Now().After(deadline) {
			t.Fatalf("no example URLs printed:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	printed := out.String()
	urls := regexp.MustCompile(`http://127\.0\.0\.1:\d+/[^\s"]+`).FindAllString(printed, -1)
	if len(urls) < 3 {
		t.Fatalf("too few URLs:\n%s", printed)
	}
	for _, u := range urls {
		u = strings.ReplaceAll(u, "&amp;", "&") // from the <picture> markup
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "image/") || len(body) == 0 {
			t.Errorf("%s: %d %s", u, res.StatusCode, body)
		}
	}
	if !strings.Contains(printed, `<source type="image/avif"`) || !strings.Contains(printed, "fm=webp&w=400") {
		t.Errorf("examples lack the WebP URL or the picture markup:\n%s", printed)
	}
	// The admin listener: metrics of every tier, and purge.
	admin := regexp.MustCompile(`admin on (127\.0\.0\.1:\d+)`).FindStringSubmatch(printed)
	if admin == nil {
		t.Fatalf("no admin address printed:\n%s", printed)
	}
	res, err := http.Get("http://" + admin[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`imgproxy_requests_total{cache="miss",status="200"}`,
		`imgproxy_request_duration_seconds_bucket{cache="miss"`,
		`imgproxy_transform_duration_seconds_count{format="webp"}`,
		`imgproxy_origin_fetch_duration_seconds_count{result="ok"}`,
		`imgproxy_origin_fetches_total`, `imgproxy_cache_coalesced_total`,
		`imgproxy_cache_bytes{tier="memory"}`, `imgproxy_cache_bytes{tier="disk"}`,
		`imgproxy_cache_budget_bytes{tier="disk"} 1.073741824e+10`,
		`imgproxy_cache_entries{tier="disk"}`, `imgproxy_cache_evictions_total{tier="disk"}`,
		`imgproxy_cache_corrupt_entries_total`, `imgproxy_transform_queue_depth`,
		`imgproxy_libvips_memory_bytes`, `imgproxy_cache_disk_degraded 0`,
		`imgproxy_connections_max 4096`, `imgproxy_connections_refused_total 0`,
		`imgproxy_connections_idle_closed_total 0`, `imgproxy_connections_idle `,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The example URLs above left keep-alive connections open.
	if !regexp.MustCompile(`(?m)^imgproxy_connections_open [1-9]`).Match(m) {
		t.Errorf("/metrics does not count the open connections")
	}
	res, err = http.Post("http://"+admin[1]+"/purge?key=badge.png", "", nil)
	if err != nil || res.StatusCode != 200 {
		t.Errorf("purge: %v %v", res, err)
	}
	if strings.Contains(errOut.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", errOut.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeRefusesWithoutKeyOrOrigin(t *testing.T) {
	code, _, errOut := run(t, "", "", "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "no signing key") || !strings.Contains(errOut, "--dev") {
		t.Errorf("no key: %d %q", code, errOut)
	}
	code, _, errOut = run(t, vectorKey, "", "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "no origin") {
		t.Errorf("no origin: %d %q", code, errOut)
	}
}

// An empty admin address, from a flag or an empty environment variable,
// starts no admin listener, and says so; before, the flag bound every
// interface on a random port under a banner claiming localhost, and the
// empty variable fell back to the default.
func TestServeAdminOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  bool
	}{{"flag", false}, {"env", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			t.Setenv("IMGPROXY_SIGNING_KEYS", "")
			args := []string{"serve", "--dev", "--addr", "127.0.0.1:0"}
			if tc.env {
				t.Setenv("IMGPROXY_SERVER_ADMIN_ADDR", "")
			} else {
				args = append(args, "--admin-addr", "")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errOut lockedBuffer
			root := New()
			root.SetArgs(args)
			root.SetOut(&out)
			root.SetErr(&errOut)
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "listening on"); {
				if time.Now().After(deadline) {
					t.Fatalf("did not start:\n%s\n%s", out.String(), errOut.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			banner := regexp.MustCompile(`listening on \S+ \(([^)]*)\)`).FindStringSubmatch(out.String())
			if banner == nil || banner[1] != "admin off" {
				t.Errorf("banner: %q", out.String())
			}
			if !strings.Contains(errOut.String(), "admin listener off") || !strings.Contains(errOut.String(), "admin=off") {
				t.Errorf("log does not say the admin listener is off:\n%s", errOut.String())
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
}
