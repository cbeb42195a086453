package server

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// recorder remembers the status and body size for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom passes a body read from a file (a disk hit) to net/http's own
// ReadFrom, which sends it with sendfile(2) on a plain TCP connection; a
// recorder without it would hide that and copy through a buffer.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	// Sending the header first spares net/http's ReadFrom its read of the
	// first 512 bytes through a buffer (for content sniffing, which a
	// response with its Content-Type set does not need).
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// requestInfo is what the handler learned, for the log line.
type requestInfo struct {
	key   string // object key, once the URL parsed
	tier  string
	err   error
	probe bool // a health probe: not counted, logged at debug level
}

// logRequest writes one line per request. It names the object key, never
// the query (which holds the signature) and never a secret; the full error
// is for the operator only. A health probe is not an image request: it is
// not observed, and logged at debug level (readiness changes are logged
// when they happen).
func (h *Handler) logRequest(r *http.Request, rec *recorder, info *requestInfo, start time.Time) {
	elapsed := time.Since(start)
	if h.cfg.Observe != nil && !info.probe {
		h.cfg.Observe(rec.status, info.tier, elapsed)
	}
	level := slog.LevelInfo
	switch {
	case info.probe:
		level = slog.LevelDebug
	case rec.status >= 500 && rec.status != statusClientGone:
		level = slog.LevelError
	}
	if !h.cfg.AccessLog.Enabled(r.Context(), level) {
		return
	}
	var buf [7]slog.Attr // on the stack: a line costs no allocation of ours
	attrs := append(buf[:0],
		slog.String("method", r.Method),
		slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", elapsed),
	)
	if info.key != "" {
		attrs = append(attrs, slog.String("key", info.key))
	} else {
		attrs = append(attrs, slog.String("path", r.URL.Path))
	}
	if info.tier != "" {
		attrs = append(attrs, slog.String("cache", info.tier))
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("err", info.err.Error()))
	}
	h.cfg.AccessLog.LogAttrs(r.Context(), level, "request", attrs...)
}
