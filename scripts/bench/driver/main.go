// Command driver runs scripts/bench.sh's measurements: imgproxy against
// references measured in the same run, on the same bytes, recorded as raw
// runs (one JSON object a line) for scripts/bench/report to turn into the
// table of ratios. bench.sh installs the tools, builds the binaries, starts
// versitygw and calls it; its settings are the BENCH_* variables bench.sh
// documents.
//
// What is measured is data: the workloads below are one row each, and the
// cases (hit cases in hits.go, the rest in cases.go) one row each in their
// tables; a new reference is a start function and a row.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// workload is one transform measured: a source folder, the URL's
// parameters, and vipsthumbnail's output options (imgproxy's encoder
// settings, so that the reference makes the same bytes as imgproxy's own
// full-size-decode path would).
type workload struct {
	name, desc string
	src, ext   string // originals: photos/<src>/<name>.<ext>
	fm         string
	q, w       int    // the miss widths are centred on w
	outExt     string // the output's file extension
	vips       string // vipsthumbnail's output options
	conns      int    // wrk connections; 0: BENCH_CONNECTIONS
	missOnly   bool   // no hit cases (an extra workload without targets)
}

var workloads = []workload{
	{name: "W1", desc: "2048x1536 JPEG -> 400 wide JPEG q80", src: "2048", ext: "jpg", fm: "jpg", q: 80, w: 400, outExt: "jpg", vips: "Q=80,strip,optimize_coding"},
	{name: "W2", desc: "2048x1536 JPEG -> 400 wide WebP q80", src: "2048", ext: "jpg", fm: "webp", q: 80, w: 400, outExt: "webp", vips: "Q=80,strip"},
	{name: "W3", desc: "4000x3000 JPEG -> 800 wide WebP q80", src: "4000", ext: "jpg", fm: "webp", q: 80, w: 800, outExt: "webp", vips: "Q=80,strip"},
	{name: "W4", desc: "2048x1536 JPEG -> 400 wide AVIF q60 (effort 2)", src: "2048", ext: "jpg", fm: "avif", q: 60, w: 400, outExt: "avif", vips: "Q=60,effort=2,strip"},
	// W5's PNG costs about 10 times W1's CPU: at 64 connections nearly
	// every request would be refused by the full queue (503 at once),
	// measuring overload rather than the transform.
	{name: "W5", desc: "2048x1536 PNG with alpha -> 400 wide WebP q80 (extra: miss only, no target; 8 connections)", src: "alpha", ext: "png", fm: "webp", q: 80, w: 400, outExt: "webp", vips: "Q=80,strip", conns: 8, missOnly: true},
}

// settings are bench.sh's BENCH_* variables.
type settings struct {
	duration            string
	reps, conns, images int
	// Hits and forged URLs are cheap and steady per request but meet the
	// machine's drift: more, shorter interleaved rounds than the misses.
	hitDuration   string
	hitReps       int
	workloads     []string
	only          string
	pin           bool
	memorySize    string
	missOriginals string
	missURLs      int
	vipsCount     int
	serverEnv     []string
	kodak, out    string
	sharedRounds  string
	profile       bool
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	v, err := strconv.Atoi(env(name, strconv.Itoa(def)))
	if err != nil || v <= 0 {
		log.Fatalf("bench: %s=%q: want a positive number", name, os.Getenv(name))
	}
	return v
}

func loadSettings(repo string) settings {
	s := settings{
		duration: env("BENCH_DURATION", "10s"), reps: envInt("BENCH_REPS", 2), conns: envInt("BENCH_CONNECTIONS", 64),
		hitDuration: env("BENCH_HIT_DURATION", "4s"), hitReps: envInt("BENCH_HIT_REPS", 5),
		images: envInt("BENCH_IMAGES", 8), workloads: strings.Fields(env("BENCH_WORKLOADS", "W1 W2 W3 W4 W5")),
		only: env("BENCH_ONLY", "."), memorySize: env("BENCH_MEMORY_SIZE", "256MiB"),
		missOriginals: env("BENCH_MISS_ORIGINALS", "0"), vipsCount: envInt("BENCH_VIPS_COUNT", 24),
		serverEnv: strings.Fields(os.Getenv("BENCH_SERVER_ENV")), kodak: env("BENCH_KODAK", filepath.Join(repo, "scripts/bench/kodak")),
		out: os.Getenv("BENCH_OUT"), sharedRounds: env("BENCH_SHARED_ROUNDS", "5"),
	}
	s.profile = env("BENCH_PROFILE", "0") == "1"
	s.pin = env("BENCH_PIN", map[bool]string{true: "1", false: "0"}[runtime.NumCPU() >= 2]) == "1"
	mustDuration(s.hitDuration)
	secs := int(mustDuration(s.duration).Seconds())
	s.missURLs = envInt("BENCH_MISS_URLS", max(secs*2000, 20000))
	return s
}

func mustDuration(d string) time.Duration {
	if n, err := strconv.Atoi(d); err == nil { // wrk takes bare seconds too
		return time.Duration(n) * time.Second
	}
	v, err := time.ParseDuration(d)
	if err != nil {
		log.Fatalf("bench: duration %q: %v", d, err)
	}
	return v
}

func main() {
	helpers := flag.String("helpers", "", "folder of the built helpers (bareserver, s3upload, report, shared)")
	imgproxy := flag.String("imgproxy", "bin/imgproxy", "the imgproxy binary")
	flag.Parse()
	repo, err := os.Getwd()
	if err != nil {
		log.Fatal(err)
	}
	b, err := newBench(loadSettings(repo), repo, *helpers, *imgproxy)
	if err != nil {
		log.Fatalf("bench: %v", err)
	}
	err = b.run()
	b.cleanup()
	if err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// step prints a heading, as scripts/lib.sh's step does.
func step(format string, a ...any) { fmt.Printf("\n==> %s\n", fmt.Sprintf(format, a...)) }

// record appends one raw run for the report.
func (b *bench) record(fields map[string]any) error {
	line, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	_, err = b.runs.Write(append(line, '\n'))
	return err
}
