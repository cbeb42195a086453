package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The request line and headers together are limited to 16 KiB, as the
// README says, over real HTTP: with MaxHeaderBytes at 16 KiB, net/http's
// slack let a 19 KiB header through.
func TestHeaderLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		Timeouts{ReadHeader: time.Second, Request: time.Second, Idle: time.Second, Shutdown: time.Second}, discardLogger())
	for _, tc := range []struct {
		size   int
		status int
	}{
		{15 << 10, 200},
		{16<<10 - 200, 200},
		{16 << 10, 431},
		{17 << 10, 431},
		{19 << 10, 431},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", tc.size))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%d bytes: %v", tc.size, err)
		}
		if res.StatusCode != tc.status {
			t.Errorf("a %d-byte header: %d, want %d", tc.size, res.StatusCode, tc.status)
		}
	}
}
