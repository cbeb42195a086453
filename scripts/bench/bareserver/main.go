// Command bareserver is the "bare Go" reference of scripts/bench.sh: a
// net/http server that answers every request with one in-memory response
// (status, headers and body captured from imgproxy), so that imgproxy's
// hit path can be compared with the cheapest thing a Go server can do.
// /healthz answers 200 for the readiness check.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"log"
	"net/http"
	"net/textproto"
	"os"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	bodyFile := flag.String("body", "", "file holding the response body")
	headersFile := flag.String("headers", "", `file of "Name: value" lines (Date and hop-by-hop headers are skipped)`)
	status := flag.Int("status", http.StatusOK, "response status")
	flag.Parse()

	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	header, err := readHeaders(*headersFile)
	if err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		h := w.Header()
		for k, v := range header {
			h[k] = v
		}
		w.WriteHeader(*status)
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, handler))
}

// readHeaders parses a response header block as curl -D writes it; the
// status line, Date and hop-by-hop headers are left out.
func readHeaders(name string) (http.Header, error) {
	h := http.Header{}
	if name == "" {
		return h, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ":")
		if !ok || strings.HasPrefix(k, "HTTP/") {
			continue
		}
		k = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
		switch k {
		case "Date", "Connection", "Transfer-Encoding", "Keep-Alive":
			continue
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, sc.Err()
}
