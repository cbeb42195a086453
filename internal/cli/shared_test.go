package cli

import (
	"net"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

// The shared tier at start: a bucket that does not exist stops serve with
// its name; one that does not answer starts it ready, the tier shown as
// degraded in /readyz; a working one starts it ready.
func TestServeSharedTier(t *testing.T) {
	b, results := s3test.Bucket(t), s3test.Bucket(t)
	env := func(kv ...string) map[string]string {
		e := s3Env(b, b.Bucket)
		for i := 0; i < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	t.Run("missing bucket", func(t *testing.T) {
		missing := results.Bucket + "-missing"
		for k, v := range env("IMGPROXY_CACHE_SHARED_BUCKET", missing) {
			t.Setenv(k, v)
		}
		code, _, errOut := run(t, vectorKey, "", "serve", "--addr", "127.0.0.1:0", "--admin-addr", "")
		if code != 1 || !strings.Contains(errOut, `cache.shared.bucket "`+missing+`"`) || !strings.Contains(errOut, "NoSuchBucket") {
			t.Errorf("exit %d:\n%s", code, errOut)
		}
		if strings.Contains(errOut, b.SecretKey) {
			t.Errorf("the error holds the secret:\n%s", errOut)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String()
		ln.Close()
		p := startServing(t, env("IMGPROXY_CACHE_SHARED_BUCKET", results.Bucket, "IMGPROXY_CACHE_SHARED_ENDPOINT", closed))
		if code, body := p.get(t, "/readyz"); code != 200 || body != "ready (degraded: shared cache tier failing)" {
			t.Errorf("/readyz: %d %q", code, body)
		}
		if !strings.Contains(p.errOut.String(), "the bucket did not answer at start") {
			t.Errorf("no warning logged:\n%s", p.errOut.String())
		}
	})
	t.Run("working", func(t *testing.T) {
		p := startServing(t, env("IMGPROXY_CACHE_SHARED_BUCKET", results.Bucket))
		if code, body := p.get(t, "/readyz"); code != 200 || body != "ready" {
			t.Errorf("/readyz: %d %q", code, body)
		}
	})
}
