package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imgproxy-team/imgproxy/scripts/bench/internal/measure"
)

// load runs wrk (pinned to CPU 0 when pinning) against p for duration,
// on one path or, with urls, walking that file of
// paths (scripts/bench/wrk.lua), and reads p's CPU time before and after
// and its peak RSS. It returns the run's fields for the caller to extend
// and record.
func (b *bench) load(wl, cs string, conns, rep int, duration string, p *proc, path, urls string) (map[string]any, error) {
	t0, err := p.CPUTicks()
	if err != nil {
		return nil, err
	}
	prof, err := b.startProfile(wl, cs, rep, p.Cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, b.wrkPin...), "wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+duration,
		"--timeout", "30s", "--latency", "-s", filepath.Join(b.repo, "scripts/bench/wrk.lua"), p.base()+path)
	out, err := command([]string{"BENCH_URLS=" + urls, "BENCH_WRK_THREADS=1"}, args[0], args[1:]...)
	if err != nil {
		return nil, err
	}
	t1, err := p.CPUTicks()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.logs, fmt.Sprintf("%s-%s-%d.wrk", wl, cs, rep)), out, 0o644); err != nil {
		return nil, err
	}
	run := map[string]any{}
	for _, line := range strings.Split(string(out), "\n") {
		if summary, ok := strings.CutPrefix(line, "BENCH "); ok {
			if err := json.Unmarshal([]byte(summary), &run); err != nil {
				return nil, fmt.Errorf("wrk's summary for %s %s: %v", wl, cs, err)
			}
		}
	}
	if len(run) == 0 {
		return nil, fmt.Errorf("wrk printed no summary for %s %s:\n%s", wl, cs, out)
	}
	cpuMs := (t1 - t0) * 1000 / measure.ClockTicks
	rss, _ := p.StatusKiB("VmHWM")
	run["workload"], run["case"], run["rep"], run["connections"] = wl, cs, rep, conns
	run["cpu_ms"], run["rss_peak_kib"] = cpuMs, rss
	n, d := num(run["requests"]), num(run["duration_us"])
	if prof != nil {
		if err := prof.stop(run, n); err != nil {
			return nil, err
		}
		b.profiled = append(b.profiled, run)
	}
	perReq := 0.0
	if n > 0 {
		perReq = float64(cpuMs) / n
	}
	fmt.Printf("    %-3s %-12s rep %d: %8.1f req/s  p99 %8.2f ms  %7.3f CPU ms/req  RSS %4.0f MiB  non-2xx %d\n",
		wl, cs, rep, n/(d/1e6), num(run["p99_us"])/1000, perReq, float64(rss)/1024, int(num(run["non2xx"])))
	return run, nil
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func (wl *workload) connections(b *bench) int {
	if wl.conns > 0 {
		return wl.conns
	}
	return b.conns
}
