// Package admin is the operator's listener, never the public one:
// Prometheus metrics, purging an original from every cache, and pprof.
package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
)

// Purger removes every cached variant of an original, returning how many.
type Purger func(objectKey string) int

// Handler returns the admin routes: GET /metrics, POST /purge?key=<object
// key>, and /debug/pprof/, behind a guard that refuses (403) requests from
// web pages: listen is the configured address, whose host name the guard
// accepts in Host besides IP addresses and localhost.
func Handler(listen string, metrics http.Handler, purge Purger, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("POST /purge", func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("key")
		if key == "" {
			http.Error(w, "want ?key=<object key>", http.StatusBadRequest)
			return
		}
		n := purge(key)
		log.Info("purged", "key", key, "variants", n)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Key    string `json:"key"`
			Purged int    `json:"purged"`
		}{key, n})
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return newGuard(mux, listen, log)
}
