package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// limitedServer serves h on 127.0.0.1 behind a ConnLimiter of n, and
// checks at cleanup that stopping it leaves no goroutine behind.
func limitedServer(t *testing.T, n int, h http.Handler) (string, *ConnLimiter) {
	t.Helper()
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := NewConnLimiter(n)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, lim.Listener(ln), h, Timeouts{ReadHeader: 10 * time.Second, Request: 10 * time.Second,
			Idle: time.Minute, Shutdown: 5 * time.Second}, discardLogger())
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		// Connections closed by Shutdown report so from their own
		// goroutines, a moment after it returns.
		deadline := time.Now().Add(5 * time.Second)
		for s := lim.Stats(); s.Open != 0 || s.Idle != 0; s = lim.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("after shutdown: %+v", s)
			}
			time.Sleep(time.Millisecond)
		}
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return ln.Addr().String(), lim
}

// rawConn is a client connection the test drives byte by byte.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{c, bufio.NewReader(c)}
}

// get sends a whole request and reads its answer, leaving the connection
// open.
func (c *rawConn) get(t *testing.T, path string) (int, error) {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func waitFor(t *testing.T, lim *ConnLimiter, what string, ok func(ConnStats) bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(lim.Stats()); {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %+v", what, lim.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// At the bound, a client that opened connections and left them idle
// cannot keep a new client out: the connection idle the longest is closed
// to make room.
func TestConnLimitClosesIdleFirst(t *testing.T) {
	const n = 4
	addr, lim := limitedServer(t, n, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	idle := make([]*rawConn, n)
	for i := range idle {
		idle[i] = dialRaw(t, addr)
		if code, err := idle[i].get(t, "/"); code != 200 {
			t.Fatalf("connection %d: %d %v", i, code, err)
		}
		waitFor(t, lim, "idle", func(s ConnStats) bool { return s.Idle == i+1 })
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + addr + "/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("new client at the bound: %v %v", res, err)
	}
	res.Body.Close()
	if s := lim.Stats(); s.Open > n || s.IdleClosed != 1 || s.Refused != 0 {
		t.Errorf("stats: %+v", s)
	}
	// The oldest idle connection was the one closed; the others still work.
	if _, err := idle[0].r.ReadByte(); err == nil {
		t.Error("the longest idle connection is still open")
	}
	if code, err := idle[1].get(t, "/"); code != 200 {
		t.Errorf("the next idle connection: %d %v", code, err)
	}
}

// At the bound with no connection idle (one in a handler, the others
// still sending their headers), a new connection is answered 503 and
// closed, and counted; once one finishes, new clients get in again.
func TestConnLimitRefusesWhenAllBusy(t *testing.T) {
	const n = 3
	release := make(chan struct{})
	addr, lim := limitedServer(t, n, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	}))
	slow := dialRaw(t, addr)
	slowDone := make(chan int, 1)
	go func() { code, _ := slow.get(t, "/slow"); slowDone <- code }()
	partial := make([]*rawConn, n-1)
	for i := range partial {
		partial[i] = dialRaw(t, addr)
		io.WriteString(partial[i], "GET / HTTP/1.1\r\nHost: x\r\n") // and not yet the blank line
	}
	waitFor(t, lim, "every connection busy", func(s ConnStats) bool { return s.Open == n })

	refused := dialRaw(t, addr)
	b, err := io.ReadAll(refused.r)
	if !strings.HasPrefix(string(b), "HTTP/1.1 503 ") || !strings.Contains(string(b), "Connection: close\r\n") {
		t.Errorf("over the bound: %q %v", b, err)
	}
	// A client that sends its request first is refused too: it reads the
	// 503 or, when its request arrived before the close, a reset.
	if code, err := dialRaw(t, addr).get(t, "/"); code != 503 && err == nil {
		t.Errorf("a request over the bound was answered %d", code)
	}
	if s := lim.Stats(); s.Open != n || s.Refused != 2 || s.IdleClosed != 0 {
		t.Errorf("stats: %+v", s)
	}

	close(release)
	if code := <-slowDone; code != 200 {
		t.Fatalf("slow request: %d", code)
	}
	waitFor(t, lim, "the slow connection idle", func(s ConnStats) bool { return s.Idle == 1 })
	if code, err := dialRaw(t, addr).get(t, "/"); code != 200 {
		t.Errorf("after a connection went idle: %d %v", code, err)
	}
	for i, c := range partial {
		io.WriteString(c, "\r\n")
		res, err := http.ReadResponse(c.r, nil)
		if err != nil || res.StatusCode != 200 {
			t.Errorf("partial %d: %v %v", i, res, err)
		}
	}
	if s := lim.Stats(); s.Refused != 2 || s.IdleClosed != 1 {
		t.Errorf("stats: %+v", s)
	}
}
