package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Every log line, error body, /metrics and `imgproxy verify` output of a
// server on a real S3 bucket is searched for the signing keys, the S3
// credentials and the S3 endpoint: none may appear.
func TestSecretsStaySecret(t *testing.T) {
	bucket := s3test.Bucket(t)
	bucket.Put(t, "ok.jpg", testimages.JPEG(testimages.Quadrants(40, 30)))
	bucket.Put(t, "bad.jpg", []byte("<html>"))
	bucket.Put(t, "cut.jpg", testimages.JPEG(testimages.Quadrants(40, 30))[:100])
	t.Chdir(t.TempDir())
	keys := vectorKey + "," + otherKey
	for k, v := range map[string]string{
		"IMGPROXY_SIGNING_KEYS":                keys,
		"IMGPROXY_ORIGIN_S3_BUCKET":            bucket.Bucket,
		"IMGPROXY_ORIGIN_S3_ENDPOINT":          bucket.Endpoint,
		"IMGPROXY_ORIGIN_S3_PATH_STYLE":        "true",
		"IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID":     bucket.AccessKey,
		"IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY": bucket.SecretKey,
		"IMGPROXY_SERVER_ADDR":                 "127.0.0.1:0",
		"IMGPROXY_SERVER_ADMIN_ADDR":           "127.0.0.1:0",
		"IMGPROXY_LOG_LEVEL":                   "debug",
		"IMGPROXY_CACHE_DISK_DIR":              t.TempDir(),
		"IMGPROXY_SIGNING_BASE_URL":            "",
	} {
		t.Setenv(k, v)
	}
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	root := New()
	root.SetArgs([]string{"serve"})
	root.SetOut(&out)
	root.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var base, admin string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if m := regexp.MustCompile(`listening on (http://\S+) \(admin on (\S+)\)`).FindStringSubmatch(out.String()); m != nil {
			base, admin = m[1], m[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	var seen strings.Builder
	fetch := func(method, url string) {
		req, _ := http.NewRequest(method, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for k, v := range res.Header {
			seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		seen.Write(b)
	}
	signed := func(key string, kv ...string) string {
		args := append([]string{"sign", key}, kv...)
		code, url, errOut := run(t, keys, "", args...)
		t.Chdir(t.TempDir())
		if code != 0 {
			t.Fatalf("sign: %s", errOut)
		}
		return strings.TrimSpace(url)
	}
	for _, path := range []string{
		signed("ok.jpg", "-w", "20"), signed("ok.jpg"), signed("missing.jpg", "-w", "20"),
		signed("bad.jpg", "-w", "20"), signed("cut.jpg", "-w", "20"),
		"/ok.jpg?w=20&s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/ok.jpg?zz=1", "/healthz", "/readyz",
	} {
		fetch("GET", base+path)
	}
	fetch("POST", base+"/ok.jpg")
	fetch("GET", "http://"+admin+"/metrics")
	fetch("POST", "http://"+admin+"/purge?key=ok.jpg")
	for _, u := range []string{signed("ok.jpg", "-w", "20"), "/ok.jpg?s=nope", "/ok.jpg?w=0&s=x"} {
		_, o, e := run(t, keys, "", "verify", u)
		seen.WriteString(o + e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	seen.WriteString(out.String())
	seen.WriteString(errOut.String())

	all := seen.String()
	if !strings.Contains(all, "original not found") || !strings.Contains(all, "imgproxy_requests_total") {
		t.Fatalf("the test saw too little to be meaningful:\n%s", all)
	}
	host := strings.TrimPrefix(bucket.Endpoint, "http://")
	for name, secret := range map[string]string{
		"signing key 1": vectorKey, "signing key 2": otherKey,
		"S3 secret key": bucket.SecretKey, "S3 access key": bucket.AccessKey,
		"S3 endpoint": bucket.Endpoint, "S3 endpoint host": host, "bucket": bucket.Bucket,
	} {
		if strings.Contains(all, secret) {
			t.Errorf("the %s appears in logs, responses, metrics or verify output", name)
		}
	}
}
