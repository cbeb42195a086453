package cli

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Two servers sharing a results bucket: a purge through one server's admin
// listener reaches the other's memory tier within its purge interval, so
// that both make the variant again from the new original.
func TestPurgeReachesTheOtherServer(t *testing.T) {
	b, results := s3test.Bucket(t), s3test.Bucket(t)
	b.Put(t, "cat.jpg", testimages.JPEG(testimages.Quadrants(200, 100)))
	env := s3Env(b, b.Bucket)
	env["IMGPROXY_CACHE_SHARED_BUCKET"] = results.Bucket
	env["IMGPROXY_CACHE_SHARED_PURGE_INTERVAL"] = "100ms"
	one := startServing(t, env, "--admin-addr", "127.0.0.1:0", "--cache-dir", t.TempDir())
	two := startServing(t, env, "--admin-addr", "127.0.0.1:0", "--cache-dir", t.TempDir())
	u := signedPath(t, "cat.jpg", "w", "50")
	tier := func(p *servingProcess) string {
		t.Helper()
		res, err := http.Get(p.base + u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", u, res.StatusCode)
		}
		return res.Header.Get("X-Cache")
	}
	tier(one)
	tier(two)
	if got := tier(two); got != "memory" {
		t.Fatalf("second server, second request: %s, want memory", got)
	}
	admin := regexp.MustCompile(`admin on (127\.0\.0\.1:\d+)`).FindStringSubmatch(one.out.String())
	if admin == nil {
		t.Fatalf("no admin address:\n%s", one.out.String())
	}
	res, err := http.Post("http://"+admin[1]+"/purge?key=cat.jpg", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("purge: %d", res.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Second)
	for tier(two) != "miss" {
		if time.Now().After(deadline) {
			t.Fatalf("the purge never reached the second server:\n%s", two.errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
