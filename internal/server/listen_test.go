package server

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// SIGTERM (here: the context ending) stops accepting connections but lets
// a request in flight finish.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, h, Timeouts{ReadHeader: time.Second, Request: 5 * time.Second,
			Idle: time.Second, Shutdown: 5 * time.Second}, slog.New(slog.DiscardHandler))
	}()
	url := "http://" + ln.Addr().String() + "/slow"
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(url)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	if body := <-got; body != "finished" {
		t.Errorf("in-flight request: %q", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still accepting after shutdown")
	}
}

// A client that never finishes its headers is cut off by the read-header
// timeout.
func TestSlowHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, http.NotFoundHandler(), Timeouts{ReadHeader: 200 * time.Millisecond, Request: time.Second,
		Idle: time.Second, Shutdown: time.Second}, slog.New(slog.DiscardHandler))
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.ReadAll(c) // returns when the server closes the connection
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("connection held for %v", d)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newStackRing(t *testing.T) *urlsig.KeyRing {
	key, _ := hex.DecodeString(testKeyHex)
	ring, err := urlsig.NewKeyRing([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}
