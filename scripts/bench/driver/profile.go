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

const profileHz = 1999

// profileBuckets are checked in order; the first whose pattern matches any
// frame of a sample takes it.
var profileBuckets = []struct {
	name string
	re   *regexp.Regexp
}{
	{"gc", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge)`)},
	// The loopback send delivers to the client's socket in the sender's
	// context, and waking the client is an interrupt to the other CPU.
	{"wake client", regexp.MustCompile(`^sock_def_readable$`)},
	{"send", regexp.MustCompile(`^(ksys_write|do_writev|do_sendfile|__x64_sys_sendfile64|__sys_sendto|do_iter_readv_writev)$`)},
	{"receive", regexp.MustCompile(`^(ksys_read|__sys_recvfrom|do_readv|sock_recvmsg)$`)},
	{"poll, schedule", regexp.MustCompile(`^(do_epoll_wait|runtime\.(findRunnable|schedule|netpoll)|ngx_epoll_process_events)$`)},
	{"handler", regexp.MustCompile(`^(net/http\.serverHandler\.ServeHTTP|ngx_http_core_content_phase)$`)},
}

var profileBucketNames = func() []string {
	var names []string
	for _, b := range profileBuckets {
		names = append(names, b.name)
	}
	return append(names, "other", "total")
}()

// profileField is the run field of a bucket.
func profileField(bucket string) string {
	return "profile_" + strings.NewReplacer(" ", "_", ",", "").Replace(bucket) + "_us"
}

// profiler is one perf record running for a load.
type profiler struct {
	cmd  *exec.Cmd
	data string
}

// startProfile starts perf on the server's CPU: pinned runs only, so not
// the misses, whose server has both CPUs.
func (b *bench) startProfile(wl, cs string, rep int) (*profiler, error) {
	if !b.profile || len(b.srvPin) == 0 || strings.HasPrefix(cs, "miss") {
		return nil, nil
	}
	data := filepath.Join(b.logs, fmt.Sprintf("%s-%s-%d.perf", wl, cs, rep))
	cmd := exec.Command("perf", "record", "-q", "-g", "-F", fmt.Sprint(profileHz), "-C", b.srvPin[len(b.srvPin)-1], "-o", data)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %v", err)
	}
	return &profiler{cmd: cmd, data: data}, nil
}

// stop ends the recording and adds each bucket's µs per request to run.
func (p *profiler) stop(run map[string]any, requests float64) error {
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Wait()
	cmd := exec.Command("perf", "script", "-i", p.data)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	counts := bucketSamples(out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("perf script: %v", err)
	}
	os.Remove(p.data)
	if requests <= 0 {
		return nil
	}
	total := 0
	for _, name := range profileBucketNames {
		total += counts[name]
		run[profileField(name)] = float64(counts[name]) * 1e6 / profileHz / requests
	}
	run[profileField("total")] = float64(total) * 1e6 / profileHz / requests
	return nil
}

// bucketSamples reads perf script's output: a sample is a header line,
// its frames (indented: address, symbol+offset, object) and a blank line.
func bucketSamples(r io.Reader) map[string]int {
	counts := map[string]int{}
	var frames []string
	flush := func() {
		if len(frames) == 0 {
			return
		}
		bucket := "other"
	find:
		for _, b := range profileBuckets {
			for _, f := range frames {
				if b.re.MatchString(f) {
					bucket = b.name
					break find
				}
			}
		}
		counts[bucket]++
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
				frames = append(frames, sym)
			}
		default:
			flush()
		}
	}
	flush()
	return counts
}

// printProfiles prints the recorded buckets of every profiled case,
// medians over its repetitions.
func (b *bench) printProfiles() {
	type key struct{ wl, cs string }
	byCase := map[key][]map[string]any{}
	var order []key
	for _, r := range b.profiled {
		k := key{r["workload"].(string), r["case"].(string)}
		if byCase[k] == nil {
			order = append(order, k)
		}
		byCase[k] = append(byCase[k], r)
	}
	if len(order) == 0 {
		return
	}
	step("where a request's CPU goes (perf on the server's CPU; µs per request, medians)")
	fmt.Printf("%-6s %-13s", "wl", "case")
	for _, n := range profileBucketNames {
		fmt.Printf(" %14s", n)
	}
	fmt.Println()
	for _, k := range order {
		fmt.Printf("%-6s %-13s", k.wl, k.cs)
		for _, n := range profileBucketNames {
			var vs []float64
			for _, r := range byCase[k] {
				vs = append(vs, num(r[profileField(n)]))
			}
			fmt.Printf(" %14.2f", measure.Median(vs))
		}
		fmt.Println()
	}
}
