// Package measure is what the benchmark programs under scripts/bench
// (driver, shared, scale) share: a started server process and what /proc
// says of it (CPU time, resident memory), its Prometheus metrics, a free
// loopback port, and the medians of rounds.
package measure

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux these run on.
const ClockTicks = 100

// Proc is a started process.
type Proc struct {
	Cmd  *exec.Cmd
	done chan struct{}
}

// Start starts cmd and watches for its exit.
func Start(cmd *exec.Cmd) (*Proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// Stop sends SIGTERM, then SIGKILL after 10 seconds, and waits for the
// exit.
func (p *Proc) Stop() {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

// CPUTicks is the process's user and system time so far, all threads, in
// ClockTicks.
func (p *Proc) CPUTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", p.Cmd.Process.Pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// StatusKiB reads a memory field of /proc/PID/status: VmHWM (the peak
// resident set) or VmRSS (the current one).
func (p *Proc) StatusKiB(field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.Cmd.Process.Pid)
}

// ResetPeak starts the peak resident set (VmHWM) over from now.
func (p *Proc) ResetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.Cmd.Process.Pid), []byte("5"), 0)
}

// Metrics fetches a Prometheus text exposition.
func Metrics(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// MetricSum is the sum of a metric's samples whose labels match the
// regular expression labels (all of them when it is empty).
func MetricSum(metrics, name, labels string) float64 {
	match := regexp.MustCompile(labels)
	sum := 0.0
	for _, line := range strings.Split(metrics, "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) || !match.MatchString(series) {
			continue
		}
		v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
		sum += v
	}
	return sum
}

// FreePort is a free loopback port below the ephemeral range, so that
// wrk's and the servers' own outgoing connections cannot take it between
// the check and the bind.
func FreePort() int {
	for {
		port := 10000 + int(time.Now().UnixNano()%20000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
}

// Quantile is the q-quantile of xs (0 for none).
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// Median is the middle of xs (the upper one of an even count).
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }
