package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imgproxy-team/imgproxy/scripts/bench/internal/measure"
)

// hitCase is one server answering the workload's hit URL, imgproxy or a
// reference: start returns it and the path wrk asks for; conns, when set,
// replaces the workload's connections. Each runs once per repetition, in
// this order.
type hitCase struct {
	name  string
	conns int
	start func(b *bench, wl *workload, rep int) (p *proc, path string, err error)
}

var hitCases = []hitCase{
	{"mem-hit", 0, startMemHit},
	{"ref-bare", 0, startRefBare},
	// The memory-hit target holds at 32 connections too.
	{"mem-hit-32", 32, startMemHit},
	{"ref-bare-32", 32, startRefBare},
	{"disk-hit", 0, func(b *bench, wl *workload, rep int) (*proc, string, error) {
		return b.imgproxyHit(wl, rep, "disk-hit", "disk", "IMGPROXY_CACHE_MEMORY_SIZE=0")
	}},
	{"ref-nginx", 0, func(b *bench, wl *workload, rep int) (*proc, string, error) {
		dir := b.captured(wl)
		cc, err := headerValue(filepath.Join(dir, "headers"), "Cache-Control")
		if err != nil {
			return nil, "", err
		}
		p, err := b.startNginx(fmt.Sprintf("%s-ref-nginx-%d", wl.name, rep), filepath.Join(dir, "out."+wl.outExt), cc)
		return p, "/out." + wl.outExt, err
	}},
}

func startMemHit(b *bench, wl *workload, rep int) (*proc, string, error) {
	return b.imgproxyHit(wl, rep, "mem-hit", "memory", "IMGPROXY_CACHE_MEMORY_SIZE="+b.memorySize)
}

func startRefBare(b *bench, wl *workload, rep int) (*proc, string, error) {
	dir := b.captured(wl)
	p, err := b.startBare(fmt.Sprintf("%s-ref-bare-%d", wl.name, rep), filepath.Join(dir, "out."+wl.outExt), filepath.Join(dir, "headers"), 200)
	return p, b.hitURL[wl.name], err
}

func hitCaseNames() []string {
	var names []string
	for _, c := range hitCases {
		names = append(names, c.name)
	}
	return names
}

// imgproxyHit starts imgproxy with a disk tier in a new folder and the
// given settings, and asks for the hit URL until it comes from tier.
func (b *bench) imgproxyHit(wl *workload, rep int, cs, tier string, settings ...string) (*proc, string, error) {
	cache, err := os.MkdirTemp(b.work, "cache.")
	if err != nil {
		return nil, "", err
	}
	p, err := b.startImgproxy(fmt.Sprintf("%s-%s-%d", wl.name, cs, rep), true,
		append(append(b.originEnv("dir"), "IMGPROXY_CACHE_DISK_DIR="+cache), settings...)...)
	if err != nil {
		return nil, "", err
	}
	u := b.hitURL[wl.name]
	for i := 0; ; i++ {
		got, err := xCache(p.base() + u)
		if err == nil && got == tier {
			return p, u, nil
		}
		if i == 50 {
			return nil, "", fmt.Errorf("could not warm %s into the %s tier (last answer: %q, %v)", u, tier, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func xCache(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return "", fmt.Errorf("%s: %d", url, res.StatusCode)
	}
	return res.Header.Get("X-Cache"), nil
}

func (b *bench) captured(wl *workload) string { return filepath.Join(b.work, "ref", wl.name) }

// capture saves the hit URL's response from imgproxy (a memory hit), body
// and headers, for the references to serve.
func (b *bench) capture(wl *workload) error {
	dir := b.captured(wl)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p, err := b.startImgproxy(wl.name+"-capture", true, b.originEnv("dir")...)
	if err != nil {
		return err
	}
	defer b.stopProc(p)
	var res *http.Response
	var body []byte
	for range 2 {
		if res, err = http.Get(p.base() + b.hitURL[wl.name]); err != nil {
			return err
		}
		body, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			return fmt.Errorf("%s: capture: %d %v", wl.name, res.StatusCode, err)
		}
	}
	if res.Header.Get("X-Cache") != "memory" {
		return fmt.Errorf("%s: the second request was not a memory hit: %v", wl.name, res.Header)
	}
	var headers strings.Builder
	fmt.Fprintf(&headers, "%s %s\r\n", res.Proto, res.Status)
	res.Header.Write(&headers)
	if err := os.WriteFile(filepath.Join(dir, "headers"), []byte(headers.String()), 0o644); err != nil {
		return err
	}
	b.outBytes[wl.name] = len(body)
	return os.WriteFile(filepath.Join(dir, "out."+wl.outExt), body, 0o644)
}

// headerValue reads one header from a captured response.
func headerValue(file, name string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ": "); ok && strings.EqualFold(k, name) {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: no %s", file, name)
}

// hits runs every hit case BENCH_ONLY selects, once per repetition.
func (b *bench) hits(wl *workload) error {
	for rep := 1; rep <= b.hitReps; rep++ {
		for _, c := range hitCases {
			if !b.wants(c.name) {
				continue
			}
			p, path, err := c.start(b, wl, rep)
			if err != nil {
				return err
			}
			conns := wl.connections(b)
			if c.conns > 0 {
				conns = c.conns
			}
			run, err := b.load(wl.name, c.name, conns, rep, b.hitDuration, p, path, "")
			b.stopProc(p)
			if err != nil {
				return err
			}
			if c.name == "mem-hit" {
				run["output_bytes"] = b.outBytes[wl.name]
			}
			if err := b.record(run); err != nil {
				return err
			}
		}
	}
	return nil
}

// misses runs, per repetition, the vipsthumbnail reference and then, per
// origin, a fresh server with empty caches, both tiers on (the disk tier in
// a new folder), the originals cache at BENCH_MISS_ORIGINALS, not pinned
// (the transform pool uses both CPUs); wrk walks the miss list. The
// reference runs beside the misses it is compared with, so that the
// machine's drift over a run reaches both alike.
func (b *bench) misses(wl *workload) error {
	for rep := 1; rep <= b.reps; rep++ {
		if err := b.vipsReference(wl, rep); err != nil {
			return err
		}
		for _, origin := range []string{"dir", "s3"} {
			cs := "miss-" + origin
			if !b.wants(cs) {
				continue
			}
			cache, err := os.MkdirTemp(b.work, "cache.")
			if err != nil {
				return err
			}
			p, err := b.startImgproxy(fmt.Sprintf("%s-%s-%d", wl.name, cs, rep), false, append(b.originEnv(origin),
				"IMGPROXY_CACHE_MEMORY_SIZE="+b.memorySize, "IMGPROXY_CACHE_DISK_DIR="+cache,
				"IMGPROXY_CACHE_ORIGINALS_SIZE="+b.missOriginals)...)
			if err != nil {
				return err
			}
			run, err := b.load(wl.name, cs, wl.connections(b), rep, b.duration, p, "/", filepath.Join(b.urls, wl.name+"-miss.txt"))
			if err == nil {
				var m string
				if m, err = p.metrics(); err == nil {
					run["origin_fetches"] = measure.MetricSum(m, "imgproxy_origin_fetches_total", "")
					run["miss_requests"] = measure.MetricSum(m, "imgproxy_requests_total", `cache="miss"`)
					run["hit_requests"] = measure.MetricSum(m, "imgproxy_requests_total", `cache="(memory|disk)"`)
					run["transforms"] = measure.MetricSum(m, "imgproxy_transform_duration_seconds_count", "")
					err = b.record(run)
				}
			}
			b.stopProc(p)
			os.RemoveAll(cache)
			if err != nil {
				return err
			}
			if num(run["wrapped"]) != 0 {
				fmt.Fprintln(os.Stderr, "    WARNING: the miss list repeated; raise BENCH_MISS_URLS")
			}
		}
	}
	return nil
}

// forged sends URLs with a changed signature byte at full speed to a
// server with both tiers on, then reads its metrics: no origin fetch and no
// cache lookup (every request counted with cache="none"). Reference: the
// bare Go server answering imgproxy's own 403, fed the same URLs.
func (b *bench) forged() error {
	dir := filepath.Join(b.work, "ref", "forged")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	list := filepath.Join(b.urls, "forged.txt")
	first, err := firstLineOf(list)
	if err != nil {
		return err
	}
	for rep := 1; rep <= b.hitReps; rep++ {
		if b.wants("forged") {
			cache, err := os.MkdirTemp(b.work, "cache.")
			if err != nil {
				return err
			}
			p, err := b.startImgproxy(fmt.Sprintf("forged-%d", rep), true, append(b.originEnv("dir"),
				"IMGPROXY_CACHE_MEMORY_SIZE="+b.memorySize, "IMGPROXY_CACHE_DISK_DIR="+cache)...)
			if err != nil {
				return err
			}
			if err := saveResponse(p.base()+first, dir, 403); err != nil {
				b.stopProc(p)
				return err
			}
			run, err := b.load("forged", "forged", b.conns, rep, b.hitDuration, p, "/", list)
			if err == nil {
				var m string
				if m, err = p.metrics(); err == nil {
					run["origin_fetches"] = measure.MetricSum(m, "imgproxy_origin_fetches_total", "")
					run["lookups"] = measure.MetricSum(m, "imgproxy_requests_total", `cache="(memory|disk|miss)"`)
					run["refused_403"] = measure.MetricSum(m, "imgproxy_requests_total", `cache="none",status="403"`)
					err = b.record(run)
				}
			}
			b.stopProc(p)
			os.RemoveAll(cache)
			if err != nil {
				return err
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "body")); err == nil && b.wants("ref-bare-403") {
			p, err := b.startBare(fmt.Sprintf("forged-ref-bare-%d", rep), filepath.Join(dir, "body"), filepath.Join(dir, "headers"), 403)
			if err != nil {
				return err
			}
			run, err := b.load("forged", "ref-bare-403", b.conns, rep, b.hitDuration, p, "/", list)
			b.stopProc(p)
			if err == nil {
				err = b.record(run)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// saveResponse asks for url, requires status, and keeps the answer's body
// and headers in dir for the bare reference.
func saveResponse(url, dir string, status int) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != status {
		return fmt.Errorf("%s: %d, want %d", url, res.StatusCode, status)
	}
	var headers strings.Builder
	fmt.Fprintf(&headers, "%s %s\r\n", res.Proto, res.Status)
	res.Header.Write(&headers)
	if err := os.WriteFile(filepath.Join(dir, "headers"), []byte(headers.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "body"), body, 0o644)
}

func firstLineOf(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return "", fmt.Errorf("%s is empty", file)
	}
	return sc.Text(), nil
}
