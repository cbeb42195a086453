package warm

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options say how to request.
type Options struct {
	Concurrency int          // requests in flight; at least 1
	Via         string       // "http://127.0.0.1:8080": replaces the base URL's scheme and host
	Base        string       // the base URL the URLs start with
	Accept      string       // sent as Accept, so auto=format URLs warm what browsers get
	Client      *http.Client // nil: a client with a 60 s timeout
}

// Result is the answer to one URL.
type Result struct {
	URL    string
	Status int    // 0 when the request failed or was interrupted
	Tier   string // the server's X-Cache: memory, disk, shared or miss
	Err    error
}

// Failed reports whether the URL was not warmed (interrupted ones are not
// failures: they were never answered).
func (r Result) Failed() bool {
	return !errors.Is(r.Err, context.Canceled) && (r.Err != nil || r.Status < 200 || r.Status > 299)
}

// Summary counts the results.
type Summary struct {
	Done        int // answered or failed
	Interrupted int // not requested, or cut off, because the run was stopped
	ByStatus    map[int]int
	ByTier      map[string]int
	Failures    []Result // the first ones, in order of completion
	Elapsed     time.Duration
}

// maxFailures bounds the failures a summary keeps.
const maxFailures = 20

// Run requests every URL once, at most opts.Concurrency at a time, calling
// onResult (from one goroutine at a time) after each. When ctx is done it
// stops promptly: nothing new starts, requests in flight are cut off.
func Run(ctx context.Context, urls []string, opts Options, onResult func(Result)) Summary {
	start := time.Now()
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	workers := max(1, opts.Concurrency)
	jobs := make(chan string)
	results := make(chan Result)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				results <- fetch(ctx, client, u, opts)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, u := range urls {
			select {
			case jobs <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	s := Summary{ByStatus: map[int]int{}, ByTier: map[string]int{}}
	for r := range results {
		switch {
		case errors.Is(r.Err, context.Canceled):
			s.Interrupted++
			continue
		case r.Failed() && len(s.Failures) < maxFailures:
			s.Failures = append(s.Failures, r)
		}
		s.Done++
		s.ByStatus[r.Status]++
		if r.Tier != "" {
			s.ByTier[r.Tier]++
		}
		if onResult != nil {
			onResult(r)
		}
	}
	s.Interrupted = len(urls) - s.Done
	s.Elapsed = time.Since(start)
	return s
}

// fetch requests one URL and reads its body to the end, as a visitor's
// browser would, so that the server finishes and keeps the variant.
func fetch(ctx context.Context, client *http.Client, u string, opts Options) Result {
	target := u
	if opts.Via != "" {
		target = strings.TrimSuffix(opts.Via, "/") + strings.TrimPrefix(u, baseOrigin(opts.Base))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Result{URL: u, Err: err}
	}
	// The path and query go out byte for byte: the signature covers the
	// canonical form, which Go's URL type could re-encode.
	if i := strings.Index(target, "://"); i >= 0 {
		if j := strings.IndexByte(target[i+3:], '/'); j >= 0 {
			req.URL.Opaque = target[i+3+j:]
			req.URL.RawQuery = ""
		}
	}
	if opts.Accept != "" {
		req.Header.Set("Accept", opts.Accept)
	}
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Result{URL: u, Err: err}
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Result{URL: u, Status: res.StatusCode, Err: err}
	}
	return Result{URL: u, Status: res.StatusCode, Tier: res.Header.Get("X-Cache")}
}

// baseOrigin is the scheme and host of a base URL, without its path: --via
// replaces only those.
func baseOrigin(base string) string {
	i := strings.Index(base, "://")
	if i < 0 {
		return base
	}
	if j := strings.IndexByte(base[i+3:], '/'); j >= 0 {
		return base[:i+3+j]
	}
	return base
}
