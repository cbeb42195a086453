package s3test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a versitygw of a test's own, on a loopback port over a
// temporary directory, for a test that stops an S3 server while others
// use it (the shared server of Bucket must stay up).
type Server struct {
	Endpoint             string
	accessKey, secretKey string
	dir                  string // versitygw's posix root: a directory per bucket, a file per object
	cmd                  *exec.Cmd
}

// StartServer starts a versitygw from PATH and waits until it answers; the
// test's end stops it. Without versitygw it skips the test, or fails it
// when IMGPROXY_TEST_S3_REQUIRED=1.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("versitygw not found: %v", err)
		}
		t.Skip("versitygw not found: run scripts/test.sh")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	s := &Server{Endpoint: "http://" + addr, accessKey: randomHex(10), secretKey: randomHex(20), dir: dir}
	s.cmd = exec.Command(bin, "--port", addr, "--health", "/health", "--quiet", "posix", dir)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.accessKey, "ROOT_SECRET_KEY="+s.secretKey)
	log, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(s.Endpoint + "/health"); err == nil {
			res.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("versitygw on %s did not answer:\n%s", addr, b)
		}
	}
}

// Bucket creates a uniquely named bucket on the server; it goes with the
// server's directory.
func (s *Server) Bucket(t testing.TB) Config {
	t.Helper()
	c := Config{Endpoint: s.Endpoint, AccessKey: s.accessKey, SecretKey: s.secretKey, Bucket: "imgproxy-test-" + randomHex(8)}
	c.create(t)
	return c
}

// Stop kills the server: connections to it are refused from then on.
func (s *Server) Stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// Age moves an object's modification time back by d, as time passing
// would: versitygw lists its file's modification time. S3 has no call for
// it.
func (s *Server) Age(t testing.TB, c Config, key string, d time.Duration) {
	t.Helper()
	path := filepath.Join(s.dir, c.Bucket, filepath.FromSlash(key))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime().Add(-d), fi.ModTime().Add(-d)); err != nil {
		t.Fatal(err)
	}
}
