package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/imgproxy-team/imgproxy/scripts/bench/internal/measure"
)

// With BENCH_PROFILE=1, every run of a pinned server (hits, forged and their
// references) is sampled by perf on the server's CPU, kernel included, and
// each sample is put in one bucket by its call stack. The table says where a
// request's CPU goes, in µs per request, so that a gap to a reference can be
// read off: time in the server's own code, in the collector, or in the
// kernel's send path waking the client on the other CPU, which a slower
// server pays more of (the client sleeps more often between responses).
//
// Misses, whose server has both CPUs, are sampled by process instead, and
// so is vipsthumbnail beside them; their samples go to buckets by the
// library that was running (the leaf frame's object), except that any
// stack in the scheduler counts as scheduling: a second table, in ms per
// request or image, says how a miss's CPU differs from vipsthumbnail's.

const profileHz = 1999

// missProfileHz is lower: a miss run lasts as long and takes both CPUs.
const missProfileHz = 999

// bucket is a named pattern over a sample's frames.
type bucket struct {
	name string
	re   *regexp.Regexp
}

// profileBuckets are checked in order; the first whose pattern matches any
// frame's symbol of a sample takes it.
var profileBuckets = []bucket{
	{"gc", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge)`)},
	// The loopback send delivers to the client's socket in the sender's
	// context, and waking the client is an interrupt to the other CPU.
	{"wake client", regexp.MustCompile(`^sock_def_readable$`)},
	{"send", regexp.MustCompile(`^(ksys_write|do_writev|do_sendfile|__x64_sys_sendfile64|__sys_sendto|do_iter_readv_writev)$`)},
	{"receive", regexp.MustCompile(`^(ksys_read|__sys_recvfrom|do_readv|sock_recvmsg)$`)},
	{"poll, schedule", regexp.MustCompile(`^(do_epoll_wait|runtime\.(findRunnable|schedule|netpoll)|ngx_epoll_process_events)$`)},
	{"handler", regexp.MustCompile(`^(net/http\.serverHandler\.ServeHTTP|ngx_http_core_content_phase)$`)},
}

// missSchedule takes a sample whose stack passes through the scheduler:
// a thread going to sleep or waking another (libvips' worker handoffs,
// Go's sysmon and idle Ps).
var missSchedule = regexp.MustCompile(`^(__schedule|schedule|try_to_wake_up|futex_wait|futex_wake)$`)

// missBuckets are checked in order against the object of a sample's leaf
// frame.
var missBuckets = []bucket{
	{"libjpeg", regexp.MustCompile(`/libjpeg\.so`)},
	{"libvips, glib", regexp.MustCompile(`/lib(vips|glib|gobject|gio|orc)[^/]*\.so|orcexec`)},
	{"encoders", regexp.MustCompile(`/lib(webp|sharpyuv|heif|aom|dav1d|de265|x265|png|spng|jxl|hwy|exif|lcms)[^/]*\.so`)},
	{"libc", regexp.MustCompile(`/libc\.so|/libm\.so|/ld-linux`)},
	{"kernel: other", regexp.MustCompile(`kernel\.kallsyms`)},
	{"Go (imgproxy)", regexp.MustCompile(`/imgproxy$`)},
}

// bucketNames lists a set's buckets as the table prints them.
func bucketNames(set []bucket, first ...string) []string {
	names := append([]string{}, first...)
	for _, b := range set {
		names = append(names, b.name)
	}
	return append(names, "other", "total")
}

var (
	profileBucketNames = bucketNames(profileBuckets)
	missBucketNames    = bucketNames(missBuckets, "kernel: scheduling")
)

// profileField is the run field of a bucket.
func profileField(bucket string) string {
	return "profile_" + strings.NewReplacer(" ", "_", ",", "", ":", "", "(", "", ")", "").Replace(bucket) + "_us"
}

// profiler is one perf record running for a load.
type profiler struct {
	cmd  *exec.Cmd
	data string
	miss bool // by process and library, not by the server's CPU and call stack
	hz   int
	pid  int // when set, only this process's samples count
}

// startProfile starts perf: on the server's CPU for pinned runs, on the
// server's process (pid) for misses.
func (b *bench) startProfile(wl, cs string, rep, pid int) (*profiler, error) {
	miss := isMissProfile(cs)
	if !b.profile || len(b.srvPin) == 0 && !miss {
		return nil, nil
	}
	p := &profiler{data: filepath.Join(b.logs, fmt.Sprintf("%s-%s-%d.perf", wl, cs, rep)), miss: miss, hz: profileHz}
	var target []string
	if miss {
		// Every CPU, and the process picked out when reading: perf -p
		// follows only the threads that exist when it starts, and libvips
		// starts its workers with the first transform.
		p.hz, p.pid, target = missProfileHz, pid, []string{"-a"}
	} else {
		target = []string{"-C", b.srvPin[len(b.srvPin)-1]}
	}
	p.cmd = exec.Command("perf", append([]string{"record", "-q", "-g", "-F", fmt.Sprint(p.hz), "-o", p.data}, target...)...)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, io.Discard
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %v", err)
	}
	return p, nil
}

// stop ends the recording and adds each bucket's µs per request to run.
func (p *profiler) stop(run map[string]any, requests float64) error {
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Wait()
	return p.read(run, requests)
}

// read buckets the recorded samples into run, in µs per request.
func (p *profiler) read(run map[string]any, requests float64) error {
	defer os.Remove(p.data)
	args := []string{"script", "-i", p.data}
	if p.pid != 0 {
		args = append(args, "--pid", fmt.Sprint(p.pid))
	}
	cmd := exec.Command("perf", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	classify, names := hitBucket, profileBucketNames
	if p.miss {
		classify, names = missBucket, missBucketNames
	}
	counts := bucketSamples(out, classify)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("perf script: %v", err)
	}
	if requests <= 0 {
		return nil
	}
	total := 0
	for _, name := range names {
		total += counts[name]
		run[profileField(name)] = float64(counts[name]) * 1e6 / float64(p.hz) / requests
	}
	run[profileField("total")] = float64(total) * 1e6 / float64(p.hz) / requests
	return nil
}

// frame is one line of a sample's stack in perf script's output.
type frame struct{ sym, object string }

// hitBucket: the first of profileBuckets whose pattern matches any frame's
// symbol.
func hitBucket(frames []frame) string {
	for _, b := range profileBuckets {
		for _, f := range frames {
			if b.re.MatchString(f.sym) {
				return b.name
			}
		}
	}
	return "other"
}

// missBucket: scheduling if any frame is the scheduler's, else the first
// of missBuckets matching the leaf frame's object.
func missBucket(frames []frame) string {
	for _, f := range frames {
		if missSchedule.MatchString(f.sym) {
			return "kernel: scheduling"
		}
	}
	for _, b := range missBuckets {
		if b.re.MatchString(frames[0].object) {
			return b.name
		}
	}
	return "other"
}

// bucketSamples reads perf script's output: a sample is a header line,
// its frames (indented: address, symbol+offset, (object)), leaf first,
// and a blank line.
func bucketSamples(r io.Reader, classify func([]frame) string) map[string]int {
	counts := map[string]int{}
	var frames []frame
	flush := func() {
		if len(frames) > 0 {
			counts[classify(frames)]++
		}
		frames = frames[:0]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if f := strings.Fields(line); len(f) >= 2 {
				sym, _, _ := strings.Cut(f[1], "+0x")
				obj := strings.Trim(f[len(f)-1], "()")
				frames = append(frames, frame{sym, obj})
			}
		default:
			flush()
		}
	}
	flush()
	return counts
}

// printProfiles prints the recorded buckets of every profiled case,
// medians over its repetitions: hits in µs per request, misses and
// vipsthumbnail in ms per request or image.
func (b *bench) printProfiles() {
	type key struct{ wl, cs string }
	byCase := map[key][]map[string]any{}
	var hits, misses []key
	for _, r := range b.profiled {
		k := key{r["workload"].(string), r["case"].(string)}
		if byCase[k] == nil {
			if isMissProfile(k.cs) {
				misses = append(misses, k)
			} else {
				hits = append(hits, k)
			}
		}
		byCase[k] = append(byCase[k], r)
	}
	table := func(title string, order []key, names []string, scale float64) {
		if len(order) == 0 {
			return
		}
		step("%s", title)
		fmt.Printf("%-6s %-13s", "wl", "case")
		for _, n := range names {
			fmt.Printf(" %14s", n)
		}
		fmt.Println()
		for _, k := range order {
			fmt.Printf("%-6s %-13s", k.wl, k.cs)
			for _, n := range names {
				var vs []float64
				for _, r := range byCase[k] {
					vs = append(vs, num(r[profileField(n)]))
				}
				fmt.Printf(" %14.2f", measure.Median(vs)*scale)
			}
			fmt.Println()
		}
	}
	table("where a request's CPU goes (perf on the server's CPU; µs per request, medians)", hits, profileBucketNames, 1)
	table("where a miss's CPU goes (perf on the server's process and on vipsthumbnail; ms per request or image, medians)",
		misses, missBucketNames, 1e-3)
}

// isMissProfile: the case is profiled by process and library.
func isMissProfile(cs string) bool { return strings.HasPrefix(cs, "miss") || cs == "ref-vips" }
