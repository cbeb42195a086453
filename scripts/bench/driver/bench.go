package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bench is one run of the benchmark: its settings, folders and state.
type bench struct {
	settings
	repo, helpers, imgproxy string
	work, origin, urls      string
	logs, out               string
	runs                    *os.File
	only                    *regexp.Regexp
	start                   time.Time
	wrkPin, srvPin          []string
	pinNote                 string

	key        string   // the signing key of every imgproxy started
	names      []string // the photographs' names
	alphaNames []string
	hitURL     map[string]string
	outBytes   map[string]int
	procs      []*proc          // started and not yet stopped
	profiled   []map[string]any // runs with BENCH_PROFILE's buckets
}

func newBench(s settings, repo, helpers, imgproxy string) (*bench, error) {
	only, err := regexp.Compile(s.only)
	if err != nil {
		return nil, fmt.Errorf("BENCH_ONLY: %v", err)
	}
	if !filepath.IsAbs(imgproxy) {
		imgproxy = filepath.Join(repo, imgproxy)
	}
	b := &bench{settings: s, repo: repo, helpers: helpers, imgproxy: imgproxy, only: only, start: time.Now(),
		hitURL: map[string]string{}, outBytes: map[string]int{}}
	if b.work, err = os.MkdirTemp("", "imgproxy-bench."); err != nil {
		return nil, err
	}
	b.out = s.out
	if b.out == "" {
		if b.out, err = os.MkdirTemp("", "imgproxy-bench-results."); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return nil, err
	}
	b.origin, b.urls, b.logs = filepath.Join(b.work, "origin"), filepath.Join(b.work, "urls"), filepath.Join(b.work, "logs")
	for _, d := range []string{b.origin, b.urls, b.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if b.runs, err = os.Create(filepath.Join(b.work, "runs.jsonl")); err != nil {
		return nil, err
	}
	if s.pin {
		b.wrkPin, b.srvPin = []string{"taskset", "-c", "0"}, []string{"taskset", "-c", "1"}
		b.pinNote = "pinning: wrk (1 thread) on CPU 0; imgproxy in hit and forged runs, bare Go, nginx and vipsthumbnail on CPU 1; imgproxy in miss runs unpinned (both CPUs, so the transform pool has two)"
	} else {
		b.pinNote = "pinning: none (BENCH_PIN=0)"
	}
	return b, nil
}

// wants reports whether BENCH_ONLY selects any of the cases.
func (b *bench) wants(cases ...string) bool {
	return slices.ContainsFunc(cases, b.only.MatchString)
}

func (b *bench) selected() []*workload {
	var out []*workload
	for _, name := range b.settings.workloads {
		for i := range workloads {
			if workloads[i].name == name {
				out = append(out, &workloads[i])
			}
		}
	}
	return out
}

func (b *bench) run() error {
	for _, name := range b.settings.workloads {
		if !slices.ContainsFunc(workloads, func(w workload) bool { return w.name == name }) {
			return fmt.Errorf("unknown workload %s", name)
		}
	}
	if err := b.prepareImages(); err != nil {
		return err
	}
	if b.wants("miss-s3", "shared") {
		if err := b.upload(); err != nil {
			return err
		}
	}
	if err := b.makeURLs(); err != nil {
		return err
	}
	if err := b.timeSign(); err != nil {
		return err
	}
	for _, wl := range b.selected() {
		step("%s: %s", wl.name, wl.desc)
		if !wl.missOnly && b.wants(hitCaseNames()...) {
			if err := b.capture(wl); err != nil {
				return err
			}
			if err := b.hits(wl); err != nil {
				return err
			}
		}
		if err := b.misses(wl); err != nil {
			return err
		}
	}
	if b.wants("forged", "ref-bare-403") {
		step("forged signatures")
		if err := b.forged(); err != nil {
			return err
		}
	}
	if err := b.report(); err != nil {
		return err
	}
	b.printProfiles()
	if b.wants("shared") {
		if err := b.sharedTier(); err != nil {
			return err
		}
	}
	took := time.Since(b.start).Round(time.Second)
	fmt.Printf("\nresults: %s (table: %s, raw runs: %s)\n", filepath.Join(b.out, "bench-results.json"),
		filepath.Join(b.out, "bench-table.txt"), filepath.Join(b.out, "bench-runs.jsonl"))
	fmt.Printf("took %dm%02ds\n", int(took.Minutes()), int(took.Seconds())%60)
	return nil
}

func (b *bench) cleanup() {
	for _, p := range b.procs {
		p.stop()
	}
	if os.Getenv("BENCH_KEEP") == "1" {
		fmt.Fprintf(os.Stderr, "bench: kept the work folder %s\n", b.work)
		return
	}
	os.RemoveAll(b.work)
}

// command runs name with args, returning its standard output; a failure
// carries its standard error.
func command(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// prepareImages makes BENCH_IMAGES landscape Kodak photographs into
// 2048x1536 and 4000x3000 JPEGs at q90 (enlarged and centre-cropped), and
// kodim23 at 2048x1536 with its own luminance as an alpha channel, as PNG.
func (b *bench) prepareImages() error {
	step("preparing images from %s", b.kodak)
	pngs, _ := filepath.Glob(filepath.Join(b.kodak, "kodim*.png"))
	for _, d := range []string{"2048", "4000", "alpha"} {
		if err := os.MkdirAll(filepath.Join(b.origin, "photos", d), 0o755); err != nil {
			return err
		}
	}
	for _, f := range pngs {
		if len(b.names) == b.images {
			break
		}
		w, _ := command(nil, "vipsheader", "-f", "width", f)
		h, _ := command(nil, "vipsheader", "-f", "height", f)
		if atoi(string(w)) <= atoi(string(h)) {
			continue // a portrait one would be mostly cropped away
		}
		name := strings.TrimSuffix(filepath.Base(f), ".png")
		for _, size := range [][2]string{{"2048", "1536"}, {"4000", "3000"}} {
			out := filepath.Join(b.origin, "photos", size[0], name+".jpg[Q=90]")
			if _, err := command(nil, "vips", "thumbnail", f, out, size[0], "--height", size[1], "--crop", "centre", "--size", "both"); err != nil {
				return err
			}
		}
		b.names = append(b.names, name)
	}
	if len(b.names) == 0 {
		return fmt.Errorf("no landscape PNGs in %s (set BENCH_KODAK)", b.kodak)
	}
	f := filepath.Join(b.kodak, "kodim23.png")
	if _, err := os.Stat(f); err != nil {
		f = filepath.Join(b.kodak, b.names[0]+".png")
	}
	alpha := strings.TrimSuffix(filepath.Base(f), ".png")
	rgb, a := filepath.Join(b.work, "alpha-rgb.v"), filepath.Join(b.work, "alpha-a.v")
	for _, args := range [][]string{
		{"thumbnail", f, rgb, "2048", "--height", "1536", "--crop", "centre", "--size", "both"},
		{"colourspace", rgb, a, "b-w"},
		{"bandjoin", rgb + " " + a, filepath.Join(b.origin, "photos", "alpha", alpha+".png")},
	} {
		if _, err := command(nil, "vips", args...); err != nil {
			return err
		}
	}
	os.Remove(rgb)
	os.Remove(a)
	b.alphaNames = []string{alpha}
	fmt.Printf("    %d photographs (%s)\n", len(b.names), strings.Join(b.names, " "))
	return nil
}

// upload loads the originals into the versitygw bench.sh started, through
// the S3 API.
func (b *bench) upload() error {
	step("uploading the originals to versitygw through the S3 API")
	out, err := command(b.s3CredentialsEnv(), filepath.Join(b.helpers, "s3upload"),
		"-endpoint", os.Getenv("IMGPROXY_TEST_S3_ENDPOINT"), "-bucket", s3Bucket, "-dir", b.origin)
	fmt.Printf("    %s", out)
	return err
}

const s3Bucket = "bench"

func (b *bench) s3CredentialsEnv() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + os.Getenv("IMGPROXY_TEST_S3_ACCESS_KEY"),
		"AWS_SECRET_ACCESS_KEY=" + os.Getenv("IMGPROXY_TEST_S3_SECRET_KEY")}
}

// signBatch signs JSON lines with `imgproxy sign --batch` into a file of
// paths, one a line.
func (b *bench) signBatch(in, out string) ([]string, error) {
	data, err := os.ReadFile(in)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.imgproxy, "sign", "--batch")
	cmd.Env = append(os.Environ(), "IMGPROXY_SIGNING_KEYS="+b.key)
	cmd.Stdin = bytes.NewReader(data)
	res, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("sign --batch %s: %v", in, err)
	}
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(res))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct{ URL string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.URL == "" {
			return nil, fmt.Errorf("sign --batch %s: %q", in, sc.Text())
		}
		paths = append(paths, line.URL)
	}
	if len(paths) != bytes.Count(data, []byte("\n")) {
		return nil, fmt.Errorf("sign --batch signed %d of %d lines (%s)", len(paths), bytes.Count(data, []byte("\n")), in)
	}
	return paths, os.WriteFile(out, []byte(strings.Join(paths, "\n")+"\n"), 0o644)
}

// makeURLs mints, for every workload, a miss list (distinct URLs:
// photographs cycling fastest, then widths over 201 values centred on the
// workload's width, all in the same JPEG shrink-on-load band, then v), its
// hit URL, and a list of forged URLs (the first signature byte changed).
func (b *bench) makeURLs() error {
	step("minting URLs with bin/imgproxy sign --batch")
	key, err := command(nil, b.imgproxy, "keygen")
	if err != nil {
		return err
	}
	b.key = strings.TrimSpace(string(key))
	var forged []string
	for _, wl := range b.selected() {
		names := b.names
		if wl.src == "alpha" {
			names = b.alphaNames
		}
		var lines strings.Builder
		line := func(name string, w, v int) string {
			vs := ""
			if v > 0 {
				vs = fmt.Sprintf(`,"v":"%d"`, v)
			}
			return fmt.Sprintf(`{"key":"photos/%s/%s.%s","params":{"fm":"%s","q":%d,"w":%d%s}}`+"\n",
				wl.src, name, wl.ext, wl.fm, wl.q, w, vs)
		}
		k := len(names)
		for i := range b.missURLs {
			lines.WriteString(line(names[i%k], wl.w-100+(i/k)%201, 1+i/(k*201)))
		}
		in := filepath.Join(b.urls, wl.name+"-miss.jsonl")
		if err := os.WriteFile(in, []byte(lines.String()), 0o644); err != nil {
			return err
		}
		miss, err := b.signBatch(in, filepath.Join(b.urls, wl.name+"-miss.txt"))
		if err != nil {
			return err
		}
		hitIn := filepath.Join(b.urls, wl.name+"-hit.jsonl")
		if err := os.WriteFile(hitIn, []byte(line(names[0], wl.w, 0)), 0o644); err != nil {
			return err
		}
		hit, err := b.signBatch(hitIn, filepath.Join(b.urls, wl.name+"-hit.txt"))
		if err != nil {
			return err
		}
		b.hitURL[wl.name] = hit[0]
		// Forged: a changed first character of s (the last one carries two
		// padding bits, which a lenient decoder would ignore).
		for _, u := range miss[:min(5000, len(miss))] {
			i := strings.Index(u, "&s=") + 3
			c := byte('A')
			if u[i] == 'A' {
				c = 'B'
			}
			forged = append(forged, u[:i]+string(c)+u[i+1:])
		}
	}
	fmt.Printf("    %d miss URLs per workload; e.g. %s\n", b.missURLs, b.hitURL[b.selected()[0].name])
	return os.WriteFile(filepath.Join(b.urls, "forged.txt"), []byte(strings.Join(forged, "\n")+"\n"), 0o644)
}

// timeSign times `imgproxy sign --batch` on 100,000 lines, 3 times.
func (b *bench) timeSign() error {
	const lines = 100_000
	if !b.wants("sign-batch") {
		return nil
	}
	step("timing sign --batch on %d lines (3 runs)", lines)
	var in strings.Builder
	fms := []string{"jpg", "webp", "avif"}
	for i := range lines {
		fmt.Fprintf(&in, `{"key":"photos/%d/image-%d.jpg","params":{"fm":"%s","w":%d}}`+"\n", i%97, i, fms[i%3], 100+i%1900)
	}
	for rep := 1; rep <= 3; rep++ {
		cmd := exec.Command(b.imgproxy, "sign", "--batch")
		cmd.Env = append(os.Environ(), "IMGPROXY_SIGNING_KEYS="+b.key)
		cmd.Stdin = strings.NewReader(in.String())
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("sign --batch: %v", err)
		}
		ms := time.Since(start).Milliseconds()
		fmt.Printf("    run %d: %d ms\n", rep, ms)
		if err := b.record(map[string]any{"workload": "sign", "case": "sign-batch", "rep": rep, "lines": lines,
			"wall_s": float64(ms) / 1000}); err != nil {
			return err
		}
	}
	return nil
}

// vipsReference times vipsthumbnail (VIPS_CONCURRENCY=1, pinned like the
// servers) turning BENCH_VIPS_COUNT of the workload's originals into its
// output; CPU from /usr/bin/time (user+sys).
func (b *bench) vipsReference(wl *workload, rep int) error {
	if !b.wants("ref-vips") {
		return nil
	}
	names := b.names
	if wl.src == "alpha" {
		names = b.alphaNames
	}
	var files []string
	for i := range b.vipsCount {
		files = append(files, filepath.Join(b.origin, "photos", wl.src, names[i%len(names)]+"."+wl.ext))
	}
	out := filepath.Join(b.work, "vips-out", wl.name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	first := filepath.Join(out, names[0]+"."+wl.outExt)
	tf := filepath.Join(b.logs, fmt.Sprintf("%s-vips-%d.time", wl.name, rep))
	args := append(append([]string{}, b.srvPin...), "/usr/bin/time", "-f", "%e %U %S", "-o", tf, "vipsthumbnail",
		"--size", fmt.Sprintf("%dx", wl.w), "-o", filepath.Join(out, "%s."+wl.outExt+"["+wl.vips+"]"))
	var prof *profiler
	if b.profile {
		prof = &profiler{data: filepath.Join(b.logs, fmt.Sprintf("%s-ref-vips-%d.perf", wl.name, rep)), miss: true, hz: missProfileHz}
		args = append([]string{"perf", "record", "-q", "-g", "-F", fmt.Sprint(prof.hz), "-o", prof.data, "--"}, args...)
	}
	if _, err := command([]string{"VIPS_CONCURRENCY=1"}, args[0], append(args[1:], files...)...); err != nil {
		return err
	}
	t, err := os.ReadFile(tf)
	if err != nil {
		return err
	}
	f := strings.Fields(lastLine(string(t)))
	if len(f) != 3 {
		return fmt.Errorf("/usr/bin/time wrote %q", t)
	}
	wall, user, sys := atof(f[0]), atof(f[1]), atof(f[2])
	st, err := os.Stat(first)
	if err != nil {
		return err
	}
	cpu := (user + sys) * 1000
	run := map[string]any{"workload": wl.name, "case": "ref-vips", "rep": rep, "images": len(files),
		"wall_s": wall, "cpu_ms": float64(int(cpu + 0.5)), "output_bytes": st.Size()}
	if prof != nil {
		if err := prof.read(run, float64(len(files))); err != nil {
			return err
		}
		b.profiled = append(b.profiled, run)
	}
	if err := b.record(run); err != nil {
		return err
	}
	fmt.Printf("    %-3s %-12s rep %d: %d images, %.1f CPU ms/image\n", wl.name, "ref-vips", rep, len(files), cpu/float64(len(files)))
	return nil
}

// report writes meta.json and workloads.tsv and runs scripts/bench/report.
func (b *bench) report() error {
	step("results (medians: misses of %d runs of %s, hits and forged of %d runs of %s; %d connections)",
		b.reps, b.duration, b.hitReps, b.hitDuration, b.conns)
	fmt.Println(b.pinNote)
	fmt.Println()
	var tsv strings.Builder
	for _, wl := range b.selected() {
		fmt.Fprintf(&tsv, "%s\t%s\n", wl.name, wl.desc)
	}
	tsv.WriteString("forged\tURLs of W1..W4 with one signature byte changed (answered 403)\n")
	tsv.WriteString("sign\tbin/imgproxy sign --batch, 100,000 lines (wall seconds, median of 3; req/s = lines/s)\n")
	if err := os.WriteFile(filepath.Join(b.work, "workloads.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return err
	}
	budget, err := mib(b.memorySize)
	if err != nil {
		return err
	}
	if err := b.writeMeta(); err != nil {
		return err
	}
	if err := b.runs.Sync(); err != nil {
		return err
	}
	table, err := command(nil, filepath.Join(b.helpers, "report"), "-runs", b.runs.Name(),
		"-meta", filepath.Join(b.work, "meta.json"), "-workloads", filepath.Join(b.work, "workloads.tsv"),
		"-out", filepath.Join(b.out, "bench-results.json"), "-budget-mib", strconv.FormatFloat(budget, 'f', -1, 64),
		"-connections", strconv.Itoa(b.conns))
	os.Stdout.Write(table)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.out, "bench-table.txt"), table, 0o644); err != nil {
		return err
	}
	raw, err := os.ReadFile(b.runs.Name())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.out, "bench-runs.jsonl"), raw, 0o644)
}

func (b *bench) writeMeta() error {
	version := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).CombinedOutput()
		return strings.TrimSpace(firstLine(string(out)))
	}
	cpuModel := ""
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(info), "\n") {
			if m, ok := strings.CutPrefix(l, "model name"); ok {
				cpuModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m), ":"))
				break
			}
		}
	}
	memKiB := 0
	if info, err := os.ReadFile("/proc/meminfo"); err == nil {
		memKiB = atoi(strings.Fields(strings.TrimPrefix(firstLine(string(info)), "MemTotal:"))[0])
	}
	nginx := version("nginx", "-v")
	if _, v, ok := strings.Cut(nginx, ": "); ok {
		nginx = v
	}
	wrk := strings.Fields(version("wrk", "-v") + " ?")[1]
	meta := map[string]any{
		"date":    time.Now().UTC().Format(time.RFC3339),
		"machine": map[string]any{"cpus": runtime.NumCPU(), "cpu_model": cpuModel, "memory_kib": memKiB, "kernel": version("uname", "-r")},
		"versions": map[string]any{"imgproxy": version(b.imgproxy, "version"), "go": version("go", "env", "GOVERSION"),
			"libvips": version("vips", "--version"), "nginx": nginx, "wrk": wrk},
		"settings": map[string]any{"duration": b.duration, "reps": b.reps, "hit_duration": b.hitDuration, "hit_reps": b.hitReps, "connections": b.conns, "images": len(b.names),
			"workloads": strings.Join(b.settings.workloads, " "), "memory_budget": b.memorySize,
			"miss_originals_cache": b.missOriginals, "miss_urls": b.missURLs, "vips_images_per_rep": b.vipsCount,
			"server_env": strings.Join(b.serverEnv, " ")},
		"pinning":   b.pinNote,
		"elapsed_s": int(time.Since(b.start).Seconds()),
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.work, "meta.json"), data, 0o644)
}

// sharedTier runs scripts/bench/shared on W2's output (2048x1536 JPEG ->
// 400 wide WebP q80) from the S3 originals, into a results bucket of its
// own; its table goes beside the main one.
func (b *bench) sharedTier() error {
	step("the shared result tier: transform, disk hit and shared hit of one variant")
	results := fmt.Sprintf("bench-results-%d", time.Now().Unix())
	empty := filepath.Join(b.work, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return err
	}
	if _, err := command(b.s3CredentialsEnv(), filepath.Join(b.helpers, "s3upload"),
		"-endpoint", os.Getenv("IMGPROXY_TEST_S3_ENDPOINT"), "-bucket", results, "-dir", empty); err != nil {
		return err
	}
	var keys []string
	for _, n := range b.names {
		keys = append(keys, "photos/2048/"+n+".jpg")
	}
	out, err := command(append(b.s3CredentialsEnv(), "IMGPROXY_SIGNING_KEYS="+b.key), filepath.Join(b.helpers, "shared"),
		"-imgproxy", b.imgproxy, "-endpoint", os.Getenv("IMGPROXY_TEST_S3_ENDPOINT"), "-originals", s3Bucket,
		"-results", results, "-keys", strings.Join(keys, ","), "-fm", "webp", "-q", "80", "-w", "400",
		"-rounds", b.sharedRounds, "-out", filepath.Join(b.out, "bench-shared.json"))
	os.Stdout.Write(out)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.out, "bench-shared.txt"), out, 0o644)
}
