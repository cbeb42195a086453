package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// servingProcess is `serve` running in-process until the test ends.
type servingProcess struct {
	out, errOut *lockedBuffer
	base        string
}

// startServing runs serve with args and the environment env (key=value
// pairs) and waits for it to listen.
func startServing(t *testing.T, env map[string]string, args ...string) *servingProcess {
	t.Helper()
	t.Chdir(t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &servingProcess{out: &lockedBuffer{}, errOut: &lockedBuffer{}}
	root := New()
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", ""}, args...))
	root.SetOut(p.out)
	root.SetErr(p.errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			p.base = m[1]
			return p
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, p.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", p.out.String(), p.errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *servingProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := http.Get(p.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

// s3Env is the environment of a server on bucket (named name) of the test
// S3 server.
func s3Env(b s3test.Config, name string) map[string]string {
	return map[string]string{
		"IMGPROXY_SIGNING_KEYS":                vectorKey,
		"IMGPROXY_SIGNING_BASE_URL":            "",
		"IMGPROXY_ORIGIN_S3_BUCKET":            name,
		"IMGPROXY_ORIGIN_S3_ENDPOINT":          b.Endpoint,
		"IMGPROXY_ORIGIN_S3_PATH_STYLE":        "true",
		"IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID":     b.AccessKey,
		"IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY": b.SecretKey,
	}
}

// A misconfigured S3 origin no longer looks healthy: by default serve
// refuses to start, saying what to fix; with origin.check=warn it starts
// not ready. Before, it started and /readyz was 200 while every image was
// 502.
func TestServeOriginCheck(t *testing.T) {
	b := s3test.Bucket(t)
	missing := b.Bucket + "-missing"
	t.Run("fail", func(t *testing.T) {
		for k, v := range s3Env(b, missing) {
			t.Setenv(k, v)
		}
		type result struct {
			code   int
			errOut string
		}
		done := make(chan result, 1)
		go func() {
			code, _, errOut := run(t, vectorKey, "", "serve", "--addr", "127.0.0.1:0", "--admin-addr", "")
			done <- result{code, errOut}
		}()
		var code int
		var errOut string
		select {
		case r := <-done:
			code, errOut = r.code, r.errOut
		case <-time.After(20 * time.Second):
			t.Fatal("serve started with a missing bucket") // and serves 502s until the process ends
		}
		if code != 1 || !strings.Contains(errOut, "no such bucket") || !strings.Contains(errOut, "origin.check=warn") {
			t.Errorf("exit %d:\n%s", code, errOut)
		}
		if strings.Contains(errOut, missing) || strings.Contains(errOut, b.SecretKey) {
			t.Errorf("the error names the bucket or the secret:\n%s", errOut)
		}
	})
	t.Run("warn", func(t *testing.T) {
		env := s3Env(b, missing)
		env["IMGPROXY_ORIGIN_CHECK"] = "warn"
		p := startServing(t, env)
		if code, body := p.get(t, "/readyz"); code != 503 || body != "not ready: origin failing" {
			t.Errorf("/readyz: %d %q", code, body)
		}
		if code, _ := p.get(t, "/healthz"); code != 200 {
			t.Errorf("/healthz: %d", code)
		}
		if !strings.Contains(p.errOut.String(), "origin check failed") {
			t.Errorf("no warning logged:\n%s", p.errOut.String())
		}
	})
}

// Without the check, /readyz turns 503 after origin.unready_failures
// failed fetches in a row, and ready again on the next fetch that works.
func TestServeReadyFollowsOrigin(t *testing.T) {
	b := s3test.Bucket(t)
	later := b.Bucket + "-later" // created once the server has failed
	env := s3Env(b, later)
	env["IMGPROXY_ORIGIN_CHECK"] = "off"
	env["IMGPROXY_ORIGIN_UNREADY_FAILURES"] = "3"
	p := startServing(t, env)
	if code, _ := p.get(t, "/readyz"); code != 200 {
		t.Fatalf("/readyz before any fetch: %d", code)
	}
	for i, w := range []string{"10", "11", "12"} {
		_, u, _ := run(t, vectorKey, "", "sign", "a.jpg", "-w", w)
		if code, _ := p.get(t, strings.TrimSpace(u)); code != 502 {
			t.Fatalf("image %d: %d, want 502", i, code)
		}
	}
	if code, body := p.get(t, "/readyz"); code != 503 || body != "not ready: origin failing" {
		t.Errorf("/readyz after 3 failures: %d %q", code, body)
	}

	ctx := context.Background()
	if _, err := b.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(later)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(later), Key: aws.String("a.jpg")})
		b.Client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(later)})
	})
	lb := b
	lb.Bucket = later
	lb.Put(t, "a.jpg", testimages.JPEG(testimages.Quadrants(40, 30)))
	_, u, _ := run(t, vectorKey, "", "sign", "a.jpg", "-w", "20")
	if code, _ := p.get(t, strings.TrimSpace(u)); code != 200 {
		t.Fatalf("image once the bucket exists: %d", code)
	}
	if code, body := p.get(t, "/readyz"); code != 200 {
		t.Errorf("/readyz after a success: %d %q", code, body)
	}
}

// --dev with the user's own origin prints URLs of an image that is there,
// not of a made-up photos/cat.jpg (a 404), or says there is none.
func TestServeDevOwnOrigin(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, body []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("notes.txt", []byte("not an image"))
	t.Run("no image", func(t *testing.T) {
		p := startServing(t, map[string]string{"IMGPROXY_SIGNING_KEYS": ""}, "--dev", "--origin-dir", dir)
		waitFor(t, p.out, "no example URLs")
		if !strings.Contains(p.out.String(), "no image among the first 1 objects") {
			t.Errorf("output:\n%s", p.out.String())
		}
	})
	write("gallery/sunset.jpg", testimages.JPEG(testimages.Quadrants(64, 48)))
	t.Run("an image", func(t *testing.T) {
		p := startServing(t, map[string]string{"IMGPROXY_SIGNING_KEYS": ""}, "--dev", "--origin-dir", dir)
		waitFor(t, p.out, "mint more")
		urls := regexp.MustCompile(`http://127\.0\.0\.1:\d+(/[^\s"]+)`).FindAllStringSubmatch(p.out.String(), -1)
		if len(urls) < 3 {
			t.Fatalf("too few URLs:\n%s", p.out.String())
		}
		for _, u := range urls {
			if !strings.HasPrefix(u[1], "/gallery/sunset.jpg") {
				t.Errorf("URL of another image: %s", u[0])
			}
			if code, body := p.get(t, strings.ReplaceAll(u[1], "&amp;", "&")); code != 200 {
				t.Errorf("%s: %d %s", u[0], code, body)
			}
		}
	})
}

func waitFor(t *testing.T, b *lockedBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("%q never printed:\n%s", s, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
