// Package admin is the operator's listener, never the public one:
// Prometheus metrics, purging an original from every cache, and pprof.
package admin

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// PurgeResult is /purge's answer: the object key the request named, and how
// many variants of it were removed from the caches (one in memory and on
// disk counts once).
type PurgeResult struct {
	Key      string `json:"key"`
	Variants int    `json:"variants"`
}

// Purger removes every cached variant of an original and returns how many
// variants it removed; an error means some are still cached.
type Purger func(objectKey string) (int, error)

// Handler returns the admin routes: GET /metrics, POST /purge?key=<object
// key or image URL>, and /debug/pprof/, behind a guard that refuses (403)
// requests from web pages: listen is the configured address, whose host
// name the guard accepts in Host besides IP addresses and localhost. ring
// tells which part of a signed URL's path is the object key (see
// ObjectKey); nil takes the whole path.
func Handler(listen string, metrics http.Handler, purge Purger, ring *urlsig.KeyRing, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("POST /purge", func(w http.ResponseWriter, r *http.Request) {
		in := r.URL.Query().Get("key")
		if in == "" {
			http.Error(w, "want ?key=<object key or image URL>", http.StatusBadRequest)
			return
		}
		key, err := ObjectKey(in, ring)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := purge(key)
		if err != nil {
			log.Error("purge incomplete", "key", key, "variants", n, "err", err)
			http.Error(w, fmt.Sprintf("purge incomplete: %d variants removed, others still cached: %v", n, err), http.StatusInternalServerError)
			return
		}
		log.Info("purged", "key", key, "variants", n)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(PurgeResult{Key: key, Variants: n})
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return newGuard(mux, listen, log)
}
