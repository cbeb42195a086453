package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records each write call the LogWriter makes.
type writes struct {
	mu    sync.Mutex
	calls []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

func (w *writes) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// Lines are batched into few write calls, never split between two, reach
// the file within the interval, and all of them by Close.
func TestLogWriter(t *testing.T) {
	out := &writes{}
	l := NewLogWriter(out, 50*time.Millisecond)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				fmt.Fprintf(l, "goroutine=%d line=%d %s\n", g, i, strings.Repeat("x", i%200))
			}
		}()
	}
	wg.Wait()
	l.Write([]byte("last\n"))
	time.Sleep(200 * time.Millisecond)
	if calls := out.all(); !strings.HasSuffix(calls[len(calls)-1], "last\n") {
		t.Error("a line waited longer than the interval")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	calls := out.all()
	lines := 0
	for _, c := range calls {
		if !strings.HasSuffix(c, "\n") {
			t.Fatalf("a write call ends inside a line: %q", c[max(0, len(c)-40):])
		}
		lines += strings.Count(c, "\n")
	}
	if lines != 8001 {
		t.Errorf("%d lines written, want 8001", lines)
	}
	if len(calls) > 8001/20 {
		t.Errorf("%d write calls for 8001 lines: not batched", len(calls))
	}
}
