// Command scale measures how imgproxy's costs grow with the work, for
// scripts/bench-scale.sh:
//
//   - originals from 1 to 50 megapixels: the server's CPU per transform and
//     its peak resident memory, against megapixels, with a linear fit and a
//     chart (SVG);
//   - 1 to 512 connections on memory hits: requests per second (wrk) and
//     resident memory.
//
// Each case is a row of a table (megapixels, connections): adding one is
// adding a number to a flag. Rounds are interleaved (every size once per
// round) and medians reported, as the machine is shared and noisy.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
	"github.com/imgproxy-team/imgproxy/scripts/bench/internal/measure"
)

func main() {
	imgproxy := flag.String("imgproxy", "bin/imgproxy", "the imgproxy binary")
	photo := flag.String("photo", "", "a photograph (PNG or JPEG) to enlarge into the originals")
	mps := flag.String("megapixels", "1,2,5,10,20,35,50", "original sizes, in megapixels (4:3)")
	formats := flag.String("formats", "jpg,png", "original formats: jpg (q90; decoded shrunk on load) and png (decoded whole)")
	perSize := flag.Int("per-size", 4, "transforms of each size per round")
	rounds := flag.Int("rounds", 3, "rounds")
	conns := flag.String("connections", "1,8,64,256,512", "wrk connections for the hit sweep")
	duration := flag.String("duration", "5s", "wrk duration per connection count and round")
	out := flag.String("out", ".", "folder for scale.svg and scale.txt")
	flag.Parse()
	if *photo == "" {
		log.Fatal("scale: -photo is required")
	}
	// The servers run in a work folder: a relative path would be read from there.
	if abs, err := filepath.Abs(*imgproxy); err == nil {
		*imgproxy = abs
	}
	work, err := os.MkdirTemp("", "imgproxy-bench-scale")
	if err != nil {
		log.Fatal(err)
	}
	err = run(*imgproxy, *photo, work, *out, numbers(*mps), strings.Split(*formats, ","), numbers(*conns), *perSize, *rounds, *duration)
	os.RemoveAll(work)
	if err != nil {
		log.Fatalf("scale: %v", err)
	}
}

func run(bin, photo, work, out string, sizes []float64, formats []string, conns []float64, perSize, rounds int, duration string) error {
	var report strings.Builder
	w := io.MultiWriter(os.Stdout, &report)
	rows, err := megapixels(bin, photo, work, formats, sizes, perSize, rounds)
	if err != nil {
		return err
	}
	printMegapixels(w, rows, perSize, rounds)
	if err := os.WriteFile(filepath.Join(out, "scale.svg"), []byte(chart(rows)), 0o644); err != nil {
		return err
	}
	hits, err := connections(bin, work, conns, duration, rounds)
	if err != nil {
		return err
	}
	printConnections(w, hits, duration, rounds)
	return os.WriteFile(filepath.Join(out, "scale.txt"), []byte(report.String()), 0o644)
}

// ------------------------------------------------------------ megapixels

type mpRow struct {
	format string
	mp     float64
	w, h   int
	cpuMs  []float64 // per round: the median transform's CPU
	wallMs []float64
	rssMiB []float64 // per round: the peak of a fresh server
}

// megapixels makes an original of each format and size from the photo,
// then in every round asks one server for perSize fresh 400-wide WebPs of
// each, one at a time, reading its CPU per transform and its peak RSS
// (reset before each size through /proc/PID/clear_refs).
func megapixels(bin, photo, work string, formats []string, sizes []float64, perSize, rounds int) ([]*mpRow, error) {
	dir := filepath.Join(work, "originals")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var rows []*mpRow
	for _, format := range formats {
		opts := map[string]string{"jpg": "[Q=90]", "png": "[compression=1]"}[format]
		if opts == "" {
			return nil, fmt.Errorf("-formats: %q is not jpg or png", format)
		}
		for _, mp := range sizes {
			w := int(math.Round(math.Sqrt(mp * 1e6 * 4 / 3)))
			h := w * 3 / 4
			name := filepath.Join(dir, fmt.Sprintf("%g.%s", mp, format))
			cmd := exec.Command("vips", "thumbnail", photo, name+opts, strconv.Itoa(w), "--height", strconv.Itoa(h), "--size", "force")
			if b, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("making the %g MP %s original: %v: %s", mp, format, err, b)
			}
			rows = append(rows, &mpRow{format: format, mp: mp, w: w, h: h})
		}
	}
	// Limits raised for the largest original (a 50 MP PNG is over 100 MB):
	// the peak memory measured is then what that size costs, not a refusal.
	env := []string{"IMGPROXY_ORIGIN_DIR=" + dir, "IMGPROXY_CACHE_MEMORY_SIZE=0",
		"IMGPROXY_ORIGIN_MAX_BYTES=1GiB", "IMGPROXY_CACHE_ORIGINALS_SIZE=0",
		"IMGPROXY_TRANSFORM_MAX_SOURCE_PIXELS=" + strconv.Itoa(int(slices.Max(sizes)*1e6*1.01))}
	n := 0
	for range rounds {
		for _, r := range rows {
			// A fresh server for each size: memory a larger original made
			// the process take stays with it, and would hide a smaller
			// one's peak. One small transform first, so that libvips'
			// start-up is not counted; the peak is measured from there.
			srv, err := start(bin, work, "mp", env...)
			if err != nil {
				return nil, err
			}
			cpu, wall, peak, err := transforms(srv, r, perSize, &n)
			srv.stop()
			if err != nil {
				return nil, fmt.Errorf("%g MP %s: %v", r.mp, r.format, err)
			}
			r.cpuMs = append(r.cpuMs, mean(cpu)) // ticks are 10 ms: the mean of a few is finer than any one
			r.wallMs = append(r.wallMs, measure.Median(wall))
			r.rssMiB = append(r.rssMiB, peak)
		}
	}
	return rows, nil
}

// transforms asks srv for count fresh variants of r's original, one at a
// time, after one warm-up transform, and returns each one's CPU and wall
// milliseconds and the server's peak RSS from the warm-up on.
func transforms(srv *server, r *mpRow, count int, n *int) (cpu, wall []float64, peak float64, err error) {
	warm, err := srv.sign(fmt.Sprintf("%g.%s", r.mp, r.format), "fm", "webp", "w", "40")
	if err != nil {
		return nil, nil, 0, err
	}
	if err := srv.get(warm, "miss"); err != nil {
		return nil, nil, 0, err
	}
	if err := srv.ResetPeak(); err != nil {
		return nil, nil, 0, err
	}
	for range count {
		*n++
		u, err := srv.sign(fmt.Sprintf("%g.%s", r.mp, r.format), "fm", "webp", "w", strconv.Itoa(300+*n))
		if err != nil {
			return nil, nil, 0, err
		}
		t0, err := srv.CPUTicks()
		if err != nil {
			return nil, nil, 0, err
		}
		start := time.Now()
		if err := srv.get(u, "miss"); err != nil {
			return nil, nil, 0, err
		}
		wall = append(wall, float64(time.Since(start).Microseconds())/1000)
		t1, _ := srv.CPUTicks()
		cpu = append(cpu, float64(t1-t0)*1000/measure.ClockTicks)
	}
	peakKiB, err := srv.StatusKiB("VmHWM")
	peak = float64(peakKiB) / 1024
	return cpu, wall, peak, err
}

func printMegapixels(w io.Writer, rows []*mpRow, perSize, rounds int) {
	fmt.Fprintf(w, "originals by size: 4:3 JPEG (q90) and PNG -> 400 wide WebP, one at a time; %d per size in each of %d interleaved rounds; medians\n", perSize, rounds)
	fmt.Fprintf(w, "%6s %8s %11s %12s %10s %10s %13s\n", "format", "MP", "pixels", "CPU ms", "CPU ms/MP", "wall ms", "peak RSS MiB")
	for _, format := range formatsOf(rows) {
		var xs, ys []float64
		for _, r := range rows {
			if r.format != format {
				continue
			}
			c := measure.Median(r.cpuMs)
			xs, ys = append(xs, r.mp), append(ys, c)
			fmt.Fprintf(w, "%6s %8g %11s %12.1f %10.2f %10.1f %13.0f\n", format, r.mp, fmt.Sprintf("%dx%d", r.w, r.h), c, c/r.mp, measure.Median(r.wallMs), measure.Median(r.rssMiB))
		}
		if len(xs) > 1 {
			a, b, r2 := fit(xs, ys)
			fmt.Fprintf(w, "%6s linear fit: CPU ms = %.1f + %.2f x MP (R^2 %.4f)\n", format, a, b, r2)
		}
	}
	fmt.Fprintln(w)
}

func formatsOf(rows []*mpRow) []string {
	var out []string
	for _, r := range rows {
		if !slices.Contains(out, r.format) {
			out = append(out, r.format)
		}
	}
	return out
}

// fit is the least-squares line through the points and its R^2.
func fit(xs, ys []float64) (a, b, r2 float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	b = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	a = (sy - b*sx) / n
	var ssr, sst float64
	for i := range xs {
		e, d := ys[i]-(a+b*xs[i]), ys[i]-sy/n
		ssr, sst = ssr+e*e, sst+d*d
	}
	return a, b, 1 - ssr/sst
}

// chart draws CPU per transform and peak RSS against megapixels, side by
// side, as an SVG with no dependencies.
func chart(rows []*mpRow) string {
	const W, H, pad = 360, 260, 50
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", 2*W, H)
	colours := []string{"steelblue", "darkorange", "seagreen"}
	panel := func(x0 int, title, unit string, val func(*mpRow) float64) {
		maxX, maxY := 0.0, 0.0
		for _, r := range rows {
			maxX, maxY = max(maxX, r.mp), max(maxY, val(r))
		}
		maxY *= 1.1
		px := func(v float64) float64 { return float64(x0+pad) + v/maxX*float64(W-pad-20) }
		py := func(v float64) float64 { return float64(H-pad) - v/maxY*float64(H-pad-30) }
		fmt.Fprintf(&s, `<text x="%d" y="18" font-weight="bold">%s</text>`+"\n", x0+pad, title)
		fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0+pad, H-pad, x0+W-20, H-pad)
		fmt.Fprintf(&s, `<line x1="%d" y1="30" x2="%d" y2="%d" stroke="black"/>`+"\n", x0+pad, x0+pad, H-pad)
		fmt.Fprintf(&s, `<text x="%d" y="%d">megapixels</text>`+"\n", x0+W/2, H-15)
		fmt.Fprintf(&s, `<text x="%d" y="%d" transform="rotate(-90 %d %d)">%s</text>`+"\n", x0+14, H/2+20, x0+14, H/2+20, unit)
		for i := 0; i <= 4; i++ {
			v := maxY * float64(i) / 4
			fmt.Fprintf(&s, `<text x="%d" y="%.0f" text-anchor="end">%.0f</text>`+"\n", x0+pad-4, py(v)+4, v)
		}
		for fi, format := range formatsOf(rows) {
			colour := colours[fi%len(colours)]
			var pts []string
			for _, r := range rows {
				if r.format != format {
					continue
				}
				x, y := px(r.mp), py(val(r))
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
				fmt.Fprintf(&s, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, colour)
				if fi == 0 {
					fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n", x, H-pad+14, r.mp)
				}
			}
			fmt.Fprintf(&s, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colour, strings.Join(pts, " "))
			fmt.Fprintf(&s, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", x0+pad+10, 40+14*fi, colour, format)
		}
	}
	panel(0, "CPU per transform", "CPU ms", func(r *mpRow) float64 { return measure.Median(r.cpuMs) })
	panel(W, "peak resident memory", "MiB", func(r *mpRow) float64 { return measure.Median(r.rssMiB) })
	s.WriteString("</svg>\n")
	return s.String()
}

// ----------------------------------------------------------- connections

type connRow struct {
	conns int
	rps   []float64
	rss   float64 // the highest resident set seen after a run
}

// connections serves one variant from memory to wrk at each connection
// count, every count once per round.
func connections(bin, work string, counts []float64, duration string, rounds int) ([]*connRow, error) {
	dir := filepath.Join(work, "originals")
	srv, err := start(bin, work, "hits", "IMGPROXY_ORIGIN_DIR="+dir, "IMGPROXY_SERVER_MAX_CONNECTIONS=4096")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	u, err := srv.sign("1.jpg", "fm", "webp", "w", "400")
	if err != nil {
		return nil, err
	}
	if err := srv.get(u, "miss"); err != nil {
		return nil, err
	}
	var rows []*connRow
	for _, c := range counts {
		rows = append(rows, &connRow{conns: int(c)})
	}
	for range rounds {
		for _, r := range rows {
			out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(r.conns), "-d"+duration, "--timeout", "10s", srv.base+u).CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("wrk: %v: %s", err, out)
			}
			rps, err := wrkRate(string(out))
			if err != nil {
				return nil, err
			}
			r.rps = append(r.rps, rps)
			rss, err := srv.StatusKiB("VmRSS")
			if err != nil {
				return nil, err
			}
			r.rss = max(r.rss, float64(rss)/1024)
		}
	}
	return rows, nil
}

func printConnections(w io.Writer, rows []*connRow, duration string, rounds int) {
	fmt.Fprintf(w, "memory hits by connections: one 400 wide WebP, wrk (1 thread) for %s in each of %d interleaved rounds; medians\n", duration, rounds)
	fmt.Fprintf(w, "%12s %10s %12s %10s\n", "connections", "req/s", "vs 64 conns", "RSS MiB")
	ref := 0.0
	for _, r := range rows {
		if r.conns == 64 {
			ref = measure.Median(r.rps)
		}
	}
	for _, r := range rows {
		ratio := "-"
		if ref > 0 {
			ratio = fmt.Sprintf("%.2fx", measure.Median(r.rps)/ref)
		}
		fmt.Fprintf(w, "%12d %10.0f %12s %10.0f\n", r.conns, measure.Median(r.rps), ratio, r.rss)
	}
}

func wrkRate(out string) (float64, error) {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Requests/sec:" {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("no rate in wrk's output:\n%s", out)
}

// --------------------------------------------------------------- servers

type server struct {
	*measure.Proc
	base string
	log  *os.File
	ring *urlsig.KeyRing
}

// start runs `imgproxy serve` on a loopback port with a fresh signing key
// and a clean environment plus the given settings.
func start(bin, work, name string, env ...string) (*server, error) {
	keyOut, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		return nil, fmt.Errorf("keygen: %v", err)
	}
	key := strings.TrimSpace(string(keyOut))
	keys, err := urlsig.ParseKeys([]string{key})
	if err != nil {
		return nil, err
	}
	ring, err := urlsig.NewKeyRing(keys)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", measure.FreePort())
	log, err := os.Create(filepath.Join(work, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = work // no configs/imgproxy.yaml
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "MALLOC_ARENA_MAX=2",
		"IMGPROXY_SIGNING_KEYS=" + key, "IMGPROXY_SERVER_ADDR=" + addr, "IMGPROXY_SERVER_ADMIN_ADDR=",
		"IMGPROXY_LOG_LEVEL=error"}, env...)
	cmd.Stdout, cmd.Stderr = log, log
	p, err := measure.Start(cmd)
	if err != nil {
		return nil, err
	}
	s := &server{Proc: p, base: "http://" + addr, log: log, ring: ring}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(s.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			b, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("imgproxy did not start:\n%s", b)
		}
	}
}

func (s *server) stop() {
	s.Stop()
	s.log.Close()
}

func (s *server) sign(key string, kv ...string) (string, error) {
	var ps []urlsig.Param
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, urlsig.Param{Name: kv[i], Value: kv[i+1]})
	}
	return s.ring.URL(key, ps)
}

// get asks for a URL and checks that it was answered 200 from tier.
func (s *server) get(u, tier string) error {
	res, err := http.Get(s.base + u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("X-Cache") != tier {
		return fmt.Errorf("%s: %d, X-Cache %q, want 200 from %s: %.200s", u, res.StatusCode, res.Header.Get("X-Cache"), tier, body)
	}
	return nil
}

// ---------------------------------------------------------------- helpers

func numbers(s string) []float64 {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			log.Fatalf("scale: %q is not a positive number", f)
		}
		out = append(out, v)
	}
	return out
}

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}
