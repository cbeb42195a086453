package s3test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestIsObjectPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/bucket/key.jpg":       true,
		"/bucket/photos/a.jpg":  true,
		"/bucket":               false,
		"/bucket/":              false,
		"/":                     false,
		"/bucket/with space.jp": true,
	} {
		if got := isObjectPath(path); got != want {
			t.Errorf("isObjectPath(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestBucketWithoutServer runs TestHelperBucket in a child process without
// a server in the environment: it must skip, or fail when the server is
// required.
func TestBucketWithoutServer(t *testing.T) {
	for _, tc := range []struct {
		required string
		wantFail bool
		wantText string
	}{
		{"", false, "no S3 server: run scripts/test.sh"},
		{"1", true, "no S3 server: " + EnvRequired + "=1"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBucket$", "-test.v")
		cmd.Env = append(withoutServer(os.Environ()), "S3TEST_HELPER=1", EnvRequired+"="+tc.required)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail {
			t.Errorf("required=%q: failed=%v, want %v; output:\n%s", tc.required, failed, tc.wantFail, out)
		}
		if !strings.Contains(string(out), tc.wantText) {
			t.Errorf("required=%q: output lacks %q:\n%s", tc.required, tc.wantText, out)
		}
	}
}

func TestHelperBucket(t *testing.T) {
	if os.Getenv("S3TEST_HELPER") != "1" {
		t.Skip("run by TestBucketWithoutServer")
	}
	Bucket(t)
	t.Error("Bucket returned without a server")
}

func withoutServer(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "IMGPROXY_TEST_S3_") {
			out = append(out, kv)
		}
	}
	return out
}
