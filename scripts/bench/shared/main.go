// Command shared measures one variant's three ways to an answer on a
// server with a shared result tier: a transform (a miss: the original
// fetched from S3, transformed, written back), a disk hit, and a shared hit
// (another instance made it; this one reads it from the results bucket).
// scripts/bench.sh runs it (case "shared") against the versitygw it
// started, with the originals uploaded and the results bucket created.
//
// It starts two `imgproxy serve` processes, A and B, on the same originals
// and results buckets, each with its own disk tier and no memory tier (so
// that a second request is a disk hit). In every round, fresh variants are
// asked of A (misses), again of A (disk hits), and, once A's background
// writes are in the bucket, of B (shared hits). Requests go one at a time
// on one connection, so the times are each path's own latency; CPU is the
// server process's, from /proc/PID/stat. It prints a table of medians over
// the rounds (each round's median first) with each path's ratio to the
// transform, and writes them as JSON with -out.
//
// Signing key and S3 credentials come from the environment
// (IMGPROXY_SIGNING_KEYS, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never
// from flags.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
	"github.com/imgproxy-team/imgproxy/scripts/bench/internal/measure"
)

type settings struct {
	imgproxy, endpoint, originals, results, fm, q string
	keys                                          []string
	width, rounds, perRound                       int
}

func main() {
	var s settings
	var keys string
	flag.StringVar(&s.imgproxy, "imgproxy", "bin/imgproxy", "the imgproxy binary")
	flag.StringVar(&s.endpoint, "endpoint", "", "S3 endpoint URL of the originals and results buckets")
	flag.StringVar(&s.originals, "originals", "", "the originals bucket")
	flag.StringVar(&s.results, "results", "", "the results bucket (empty, existing)")
	flag.StringVar(&keys, "keys", "", "comma-separated object keys of originals to use")
	flag.StringVar(&s.fm, "fm", "webp", "output format")
	flag.StringVar(&s.q, "q", "80", "quality")
	flag.IntVar(&s.width, "w", 400, "the widths asked for start here, one more per variant")
	flag.IntVar(&s.rounds, "rounds", 5, "rounds")
	flag.IntVar(&s.perRound, "per-round", 12, "fresh variants per round")
	out := flag.String("out", "", "write the results as JSON here too")
	flag.Parse()
	s.keys = strings.Split(keys, ",")
	// The servers run in folders of their own: a relative path would be read from there.
	if abs, err := filepath.Abs(s.imgproxy); err == nil {
		s.imgproxy = abs
	}
	if s.endpoint == "" || s.originals == "" || s.results == "" || keys == "" {
		log.Fatal("shared: -endpoint, -originals, -results and -keys are required")
	}
	res, err := run(s)
	if err != nil {
		log.Fatalf("shared: %v", err)
	}
	res.print(os.Stdout, s)
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			log.Fatalf("shared: %v", err)
		}
	}
}

// path is one way to an answer, as measured.
type path struct {
	Name       string    `json:"name"`
	Tier       string    `json:"x_cache"` // what every answer must say
	RoundMedMs []float64 `json:"round_median_ms"`
	MedianMs   float64   `json:"median_ms"`
	P90Ms      float64   `json:"p90_ms"`
	CPUMsReq   float64   `json:"cpu_ms_per_request"`
	all        []float64
	cpuTicks   int64
}

type results struct {
	Requests int     `json:"requests_per_path"`
	Paths    []*path `json:"paths"`
	// What B's own metrics say it did for its shared hits: none of either.
	BTransforms     float64 `json:"b_transforms"`
	BOriginFetches  float64 `json:"b_origin_fetches"`
	AWritesExpected int     `json:"a_shared_writes"`
}

func run(s settings) (*results, error) {
	ring, err := keyRing()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "imgproxy-bench-shared")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	a, err := start(s, "A", filepath.Join(work, "a"))
	if err != nil {
		return nil, err
	}
	defer a.stop()
	b, err := start(s, "B", filepath.Join(work, "b"))
	if err != nil {
		return nil, err
	}
	defer b.stop()

	miss := &path{Name: "transform (miss: original GET from S3, transform, shared PUT)", Tier: "miss"}
	disk := &path{Name: "disk hit", Tier: "disk"}
	shared := &path{Name: "shared hit (GET from the results bucket, promoted to disk)", Tier: "shared"}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: time.Minute}
	n := 0
	for r := range s.rounds {
		urls := make([]string, s.perRound)
		for i := range urls {
			v := r*s.perRound + i
			urls[i], err = ring.URL(s.keys[v%len(s.keys)], []urlsig.Param{
				{Name: "fm", Value: s.fm}, {Name: "q", Value: s.q}, {Name: "w", Value: strconv.Itoa(s.width + v)}})
			if err != nil {
				return nil, err
			}
		}
		if err := phase(client, a, urls, miss); err != nil {
			return nil, err
		}
		if err := phase(client, a, urls, disk); err != nil {
			return nil, err
		}
		n += len(urls)
		if err := a.waitMetric("imgproxy_cache_shared_writes_total", `result="written"`, float64(n)); err != nil {
			return nil, err
		}
		if err := phase(client, b, urls, shared); err != nil {
			return nil, err
		}
	}
	res := &results{Requests: n, Paths: []*path{miss, disk, shared}, AWritesExpected: n}
	for _, p := range res.Paths {
		p.MedianMs, p.P90Ms = measure.Median(p.all), measure.Quantile(p.all, 0.9)
		p.CPUMsReq = float64(p.cpuTicks) * 1000 / measure.ClockTicks / float64(len(p.all))
	}
	if res.BTransforms, err = b.metric("imgproxy_transform_duration_seconds_count", ""); err != nil {
		return nil, err
	}
	if res.BOriginFetches, err = b.metric("imgproxy_origin_fetches_total", ""); err != nil {
		return nil, err
	}
	return res, nil
}

// phase asks srv for every URL in turn, checks that each answer came from
// the path's tier, and adds the times and the server's CPU to p.
func phase(c *http.Client, srv *server, urls []string, p *path) error {
	t0, err := srv.CPUTicks()
	if err != nil {
		return err
	}
	var times []float64
	for _, u := range urls {
		start := time.Now()
		res, err := c.Get(srv.base + u)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		ms := float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || res.Header.Get("X-Cache") != p.Tier {
			return fmt.Errorf("%s %s: %d, X-Cache %q; want 200 from %s", srv.name, u, res.StatusCode, res.Header.Get("X-Cache"), p.Tier)
		}
		times = append(times, ms)
	}
	t1, err := srv.CPUTicks()
	if err != nil {
		return err
	}
	p.cpuTicks += t1 - t0
	p.all = append(p.all, times...)
	p.RoundMedMs = append(p.RoundMedMs, measure.Median(times))
	return nil
}

func (r *results) print(w io.Writer, s settings) {
	fmt.Fprintf(w, "shared tier: %d rounds of %d fresh variants (%s q%s, %d+ wide, from %d originals), one request at a time\n",
		s.rounds, s.perRound, s.fm, s.q, s.width, len(s.keys))
	fmt.Fprintf(w, "%-62s %10s %9s %11s %13s\n", "path", "median ms", "p90 ms", "CPU ms/req", "vs transform")
	for _, p := range r.Paths {
		fmt.Fprintf(w, "%-62s %10.2f %9.2f %11.2f %12.3fx\n", p.Name, measure.Median(p.RoundMedMs), p.P90Ms, p.CPUMsReq,
			measure.Median(p.RoundMedMs)/measure.Median(r.Paths[0].RoundMedMs))
	}
	fmt.Fprintf(w, "B, for its %d shared hits: %.0f transforms, %.0f original fetches (by its metrics)\n",
		r.Requests, r.BTransforms, r.BOriginFetches)
}

// ---------------------------------------------------------------- servers

type server struct {
	*measure.Proc
	name, base, admin string
	log               *os.File
}

// start runs `imgproxy serve` on loopback ports with a clean environment:
// the originals and results buckets on the endpoint, its own disk tier
// under dir, no memory tier.
func start(s settings, name, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, admin := fmt.Sprintf("127.0.0.1:%d", measure.FreePort()), fmt.Sprintf("127.0.0.1:%d", measure.FreePort())
	log, err := os.Create(dir + ".log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.imgproxy, "serve")
	cmd.Dir = dir // no configs/imgproxy.yaml
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "MALLOC_ARENA_MAX=2",
		"IMGPROXY_SIGNING_KEYS=" + os.Getenv("IMGPROXY_SIGNING_KEYS"),
		"IMGPROXY_SERVER_ADDR=" + addr, "IMGPROXY_SERVER_ADMIN_ADDR=" + admin, "IMGPROXY_LOG_LEVEL=error",
		"IMGPROXY_CACHE_MEMORY_SIZE=0", "IMGPROXY_CACHE_DISK_DIR=" + filepath.Join(dir, "cache"),
		"IMGPROXY_CACHE_ORIGINALS_SIZE=0",
		"IMGPROXY_ORIGIN_S3_BUCKET=" + s.originals, "IMGPROXY_ORIGIN_S3_ENDPOINT=" + s.endpoint,
		"IMGPROXY_ORIGIN_S3_PATH_STYLE=true",
		"IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"),
		"IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY"),
		"IMGPROXY_CACHE_SHARED_BUCKET=" + s.results,
	}
	cmd.Stdout, cmd.Stderr = log, log
	p, err := measure.Start(cmd)
	if err != nil {
		return nil, err
	}
	srv := &server{Proc: p, name: name, base: "http://" + addr, admin: "http://" + admin, log: log}
	last := ""
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(srv.base + "/readyz"); err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if last = fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(string(body))); last == "200 ready" {
				return srv, nil
			}
		}
		if time.Now().After(deadline) {
			srv.stop()
			b, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("imgproxy %s did not become ready with its shared tier working (/readyz: %q):\n%s", name, last, b)
		}
	}
}

func (s *server) stop() {
	s.Stop()
	s.log.Close()
}

// metric is the sum of a metric's samples whose labels match labels.
func (s *server) metric(name, labels string) (float64, error) {
	m, err := measure.Metrics(s.admin + "/metrics")
	return measure.MetricSum(m, name, labels), err
}

// waitMetric waits until a metric reaches at least want.
func (s *server) waitMetric(name, labels string, want float64) error {
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		v, err := s.metric(name, labels)
		if err == nil && v >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("imgproxy %s: %s{%s} is %v after 30 s, want %v (%v)", s.name, name, labels, v, want, err)
		}
	}
}

// ------------------------------------------------------------------ helpers

func keyRing() (*urlsig.KeyRing, error) {
	keys, err := urlsig.ParseKeys(strings.Fields(strings.ReplaceAll(os.Getenv("IMGPROXY_SIGNING_KEYS"), ",", " ")))
	if err != nil {
		return nil, fmt.Errorf("IMGPROXY_SIGNING_KEYS: %w", err)
	}
	return urlsig.NewKeyRing(keys)
}
