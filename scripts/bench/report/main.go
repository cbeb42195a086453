// Command report turns the raw runs that scripts/bench/driver records (one JSON
// object per line and run) into the benchmark's table and its JSON file:
// the median of every number over the repetitions of a case, the ratio of
// each imgproxy case to its reference measured in the same run, and each
// target of the performance issue as met or not met.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"sort"
	"strings"
)

// run is one recorded run: its workload, case and repetition, and every
// number the script measured, by name (requests, duration_us, cpu_ms, ...).
type run struct {
	Workload string
	Case     string
	Nums     map[string]float64
}

// Target is one goal of the issue applied to one row.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Op    string  `json:"op"`
	Limit float64 `json:"limit"`
	Met   bool    `json:"met"`
}

// Row is one line of the table: the medians of one case of one workload.
type Row struct {
	Workload    string             `json:"workload"`
	Description string             `json:"description"`
	Case        string             `json:"case"`
	Label       string             `json:"label"`
	Reps        int                `json:"reps"`
	Requests    float64            `json:"requests"`
	RPS         float64            `json:"rps"`
	P50ms       *float64           `json:"p50_ms,omitempty"`
	P90ms       *float64           `json:"p90_ms,omitempty"`
	P99ms       *float64           `json:"p99_ms,omitempty"`
	CPUms       float64            `json:"cpu_ms_per_request"`
	RSSMiB      *float64           `json:"peak_rss_mib,omitempty"`
	Non2xx      float64            `json:"non_2xx_total"`
	Errors      float64            `json:"socket_errors_total"`
	Timeouts    float64            `json:"timeouts_total"`
	Reference   string             `json:"reference,omitempty"`
	RPSRatio    *float64           `json:"rps_ratio,omitempty"`
	CPURatio    *float64           `json:"cpu_ratio,omitempty"`
	Targets     []Target           `json:"targets,omitempty"`
	Extra       map[string]float64 `json:"extra,omitempty"`
	Warnings    []string           `json:"warnings,omitempty"`
}

// Results is the JSON file.
type Results struct {
	Meta    json.RawMessage `json:"meta"`
	Rows    []*Row          `json:"rows"`
	Targets struct {
		Met    int `json:"met"`
		NotMet int `json:"not_met"`
	} `json:"targets"`
}

var (
	caseOrder = []string{"miss-dir", "miss-s3", "mem-hit", "ref-bare", "mem-hit-32", "ref-bare-32", "disk-hit", "ref-nginx", "ref-vips", "forged", "ref-bare-403", "sign-batch"}
	labels    = map[string]string{
		"miss-dir":     "miss, dir origin",
		"miss-s3":      "miss, S3 origin",
		"mem-hit":      "memory hit",
		"ref-bare":     "ref: bare Go",
		"mem-hit-32":   "memory hit @32",
		"ref-bare-32":  "ref: bare Go @32",
		"disk-hit":     "disk-only hit",
		"ref-nginx":    "ref: nginx",
		"ref-vips":     "ref: vipsthumbnail",
		"forged":       "forged signature",
		"ref-bare-403": "ref: bare Go 403",
		"sign-batch":   "sign --batch 100k",
	}
	// missCPUTarget limits miss CPU per request against vipsthumbnail's
	// CPU per image, by origin and workload: from S3 the tighter limits
	// of the speed issue, from a directory the earlier ones.
	missCPUTarget = map[string]map[string]float64{
		"miss-dir": {"W1": 0.75, "W2": 0.75, "W3": 0.85},
		"miss-s3":  {"W1": 0.7, "W2": 0.7, "W3": 0.8},
	}
)

func main() {
	runsFile := flag.String("runs", "", "raw runs, one JSON object per line")
	metaFile := flag.String("meta", "", "JSON object of settings and machine facts to embed")
	descFile := flag.String("workloads", "", `lines "ID<TAB>description" naming the workloads in order`)
	out := flag.String("out", "", "JSON file to write")
	budgetMiB := flag.Float64("budget-mib", 256, "memory-tier budget, MiB (the RSS target is this plus 150 MiB)")
	conns := flag.Int("connections", 64, "wrk connections (the p99 target is stated at 64)")
	flag.Parse()

	runs, err := readRuns(*runsFile)
	if err != nil {
		log.Fatal(err)
	}
	order, descs, err := readWorkloads(*descFile)
	if err != nil {
		log.Fatal(err)
	}
	res := Results{Meta: json.RawMessage("{}")}
	if *metaFile != "" {
		meta, err := os.ReadFile(*metaFile)
		if err != nil {
			log.Fatal(err)
		}
		if !json.Valid(meta) {
			log.Fatalf("%s: not valid JSON", *metaFile)
		}
		res.Meta = meta
	}
	res.Rows = buildRows(runs, order, descs)
	applyTargets(res.Rows, *budgetMiB, *conns)
	for _, r := range res.Rows {
		for _, t := range r.Targets {
			if t.Met {
				res.Targets.Met++
			} else {
				res.Targets.NotMet++
			}
		}
	}
	printTable(os.Stdout, res.Rows)
	fmt.Printf("\ntargets: %d met, %d not met\n", res.Targets.Met, res.Targets.NotMet)
	if *out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

func readRuns(name string) ([]run, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []run
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		r := run{Nums: map[string]float64{}}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				switch k {
				case "workload":
					r.Workload = v
				case "case":
					r.Case = v
				}
			case float64:
				r.Nums[k] = v
			}
		}
		derive(&r)
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

func readWorkloads(name string) ([]string, map[string]string, error) {
	descs := map[string]string{}
	if name == "" {
		return nil, descs, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	var order []string
	for _, line := range strings.Split(string(data), "\n") {
		id, desc, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		order = append(order, id)
		descs[id] = desc
	}
	return order, descs, nil
}

// derive adds the per-run numbers the table shows: requests per second,
// latencies in milliseconds and CPU milliseconds per request (per image for
// vipsthumbnail, per line for sign).
func derive(r *run) {
	n := r.Nums
	switch r.Case {
	case "ref-vips":
		if n["images"] > 0 {
			n["cpu_ms_per_request"] = n["cpu_ms"] / n["images"]
			if n["wall_s"] > 0 {
				n["rps"] = n["images"] / n["wall_s"]
			}
		}
		return
	case "sign-batch":
		if n["wall_s"] > 0 {
			n["rps"] = n["lines"] / n["wall_s"]
		}
		return
	}
	if n["duration_us"] > 0 {
		n["rps"] = n["requests"] / (n["duration_us"] / 1e6)
	}
	if n["requests"] > 0 {
		n["cpu_ms_per_request"] = n["cpu_ms"] / n["requests"]
	}
	for _, p := range []string{"p50", "p90", "p99", "max"} {
		if v, ok := n[p+"_us"]; ok {
			n[p+"_ms"] = v / 1000
		}
	}
	if v, ok := n["rss_peak_kib"]; ok {
		n["rss_peak_mib"] = v / 1024
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// buildRows groups the runs by workload and case, in the order of the
// workloads file and caseOrder, and takes medians.
func buildRows(runs []run, order []string, descs map[string]string) []*Row {
	type key struct{ w, c string }
	groups := map[key][]run{}
	seen := map[string]bool{}
	for _, id := range order {
		seen[id] = true
	}
	for _, r := range runs {
		k := key{r.Workload, r.Case}
		groups[k] = append(groups[k], r)
		if !seen[r.Workload] {
			seen[r.Workload] = true
			order = append(order, r.Workload)
		}
	}
	var rows []*Row
	for _, w := range order {
		for _, c := range caseOrder {
			g := groups[key{w, c}]
			if len(g) == 0 {
				continue
			}
			med := func(name string) float64 {
				var xs []float64
				for _, r := range g {
					if v, ok := r.Nums[name]; ok {
						xs = append(xs, v)
					}
				}
				return median(xs)
			}
			sum := func(name string) float64 {
				s := 0.0
				for _, r := range g {
					s += r.Nums[name]
				}
				return s
			}
			row := &Row{
				Workload:    w,
				Description: descs[w],
				Case:        c,
				Label:       labels[c],
				Reps:        len(g),
				Requests:    med("requests"),
				RPS:         med("rps"),
				P50ms:       ptr(med("p50_ms")),
				P90ms:       ptr(med("p90_ms")),
				P99ms:       ptr(med("p99_ms")),
				CPUms:       med("cpu_ms_per_request"),
				RSSMiB:      ptr(med("rss_peak_mib")),
				Non2xx:      sum("non2xx"),
				Errors:      sum("socket_errors"),
				Timeouts:    sum("timeouts"),
				Extra:       map[string]float64{},
			}
			if math.IsNaN(row.Requests) {
				row.Requests = 0
			}
			if math.IsNaN(row.CPUms) {
				row.CPUms = 0
			}
			for _, name := range []string{"origin_fetches", "miss_requests", "hit_requests", "lookups", "refused_403", "images", "lines", "wall_s", "cpu_ms", "transforms", "output_bytes", "connections"} {
				if v := med(name); !math.IsNaN(v) {
					row.Extra[name] = v
				}
			}
			if len(row.Extra) == 0 {
				row.Extra = nil
			}
			if sum("wrapped") > 0 && strings.HasPrefix(c, "miss") {
				row.Warnings = append(row.Warnings, "the URL list ran out and repeated: raise BENCH_MISS_URLS")
			}
			if row.Timeouts > 0 || row.Errors > 0 {
				row.Warnings = append(row.Warnings, fmt.Sprintf("%.0f socket errors, %.0f timeouts", row.Errors, row.Timeouts))
			}
			if strings.HasPrefix(c, "miss") || strings.HasSuffix(c, "hit") || c == "ref-bare" || c == "ref-nginx" {
				if row.Non2xx > 0 {
					row.Warnings = append(row.Warnings, fmt.Sprintf("%.0f non-2xx answers", row.Non2xx))
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func find(rows []*Row, w, c string) *Row {
	for _, r := range rows {
		if r.Workload == w && r.Case == c {
			return r
		}
	}
	return nil
}

func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	return ptr(a / b)
}

func target(name string, v *float64, op string, limit float64) Target {
	t := Target{Name: name, Op: op, Limit: limit}
	if v == nil {
		t.Value = -1
		return t
	}
	t.Value = *v
	switch op {
	case ">=":
		t.Met = *v >= limit
	case "<=":
		t.Met = *v <= limit
	case "<":
		t.Met = *v < limit
	case "==":
		t.Met = *v == limit
	}
	return t
}

// applyTargets sets each row's reference, ratios and targets.
func applyTargets(rows []*Row, budgetMiB float64, conns int) {
	for _, r := range rows {
		switch r.Case {
		case "mem-hit-32":
			memoryHitTargets(r, find(rows, r.Workload, "ref-bare-32"), "bare Go @32")
		case "mem-hit":
			memoryHitTargets(r, find(rows, r.Workload, "ref-bare"), "bare Go")
			name := "p99 ms"
			if conns != 64 {
				name = fmt.Sprintf("p99 ms (at %d conns, target is at 64)", conns)
			}
			r.Targets = append(r.Targets, target(name, r.P99ms, "<", 5))
		case "disk-hit":
			if ref := find(rows, r.Workload, "ref-nginx"); ref != nil {
				r.Reference = "nginx"
				r.RPSRatio = ratio(r.RPS, ref.RPS)
				r.CPURatio = ratio(r.CPUms, ref.CPUms)
				r.Targets = append(r.Targets, target("rps vs nginx", r.RPSRatio, ">=", 0.5))
			}
		case "miss-dir", "miss-s3":
			if ref := find(rows, r.Workload, "ref-vips"); ref != nil {
				r.Reference = "vipsthumbnail"
				r.CPURatio = ratio(r.CPUms, ref.CPUms)
				if lim, ok := missCPUTarget[r.Case][r.Workload]; ok {
					r.Targets = append(r.Targets, target("CPU/req vs vipsthumbnail", r.CPURatio, "<=", lim))
				}
			}
			if r.Workload == "W4" {
				if webp := find(rows, "W2", r.Case); webp != nil {
					r.Targets = append(r.Targets, target("CPU/req vs W2 (WebP) miss", ratio(r.CPUms, webp.CPUms), "<=", 2))
				}
			}
			r.Targets = append(r.Targets, target("peak RSS MiB", r.RSSMiB, "<=", budgetMiB+150))
			// Fairness: no convoy of distinct misses behind a slow one.
			if r.Extra["connections"] == 64 && r.P50ms != nil && r.P99ms != nil {
				r.Targets = append(r.Targets, target("p99 / p50", ratio(*r.P99ms, *r.P50ms), "<=", 3))
			}
		case "forged":
			if ref := find(rows, r.Workload, "ref-bare-403"); ref != nil {
				r.Reference = "bare Go 403"
				r.RPSRatio = ratio(r.RPS, ref.RPS)
				r.CPURatio = ratio(r.CPUms, ref.CPUms)
				r.Targets = append(r.Targets, target("rps vs bare Go", r.RPSRatio, ">=", 0.9))
			}
			if v, ok := r.Extra["origin_fetches"]; ok {
				r.Targets = append(r.Targets, target("origin fetches", &v, "==", 0))
			}
			if v, ok := r.Extra["lookups"]; ok {
				r.Targets = append(r.Targets, target("cache lookups (disk reads)", &v, "==", 0))
			}
			// Every request wrk counted must have been a 403.
			if v, ok := r.Extra["refused_403"]; ok {
				missing := r.Requests - v
				if missing < 0 {
					missing = 0
				}
				r.Targets = append(r.Targets, target("requests not answered 403", &missing, "==", 0))
			}
		case "sign-batch":
			if v, ok := r.Extra["wall_s"]; ok {
				r.Targets = append(r.Targets, target("seconds", &v, "<", 0.3))
			}
		}
	}
}

// memoryHitTargets compares a memory-hit row with the bare Go server's
// row at the same connections.
func memoryHitTargets(r, ref *Row, name string) {
	if ref == nil {
		return
	}
	r.Reference = name
	r.RPSRatio = ratio(r.RPS, ref.RPS)
	r.CPURatio = ratio(r.CPUms, ref.CPUms)
	r.Targets = append(r.Targets,
		target("rps vs bare Go", r.RPSRatio, ">=", 0.9),
		target("CPU/req vs bare Go", r.CPURatio, "<=", 1.5))
}

func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "-"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func opt(v *float64) string {
	if v == nil {
		return "-"
	}
	return num(*v)
}

func printTable(w io.Writer, rows []*Row) {
	const format = "%-6s %-18s %9s %8s %8s %10s %8s %7s  %-13s %6s %6s  %s\n"
	fmt.Fprintf(w, format, "wl", "case", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "RSS MiB", "non2xx", "reference", "rps x", "CPU x", "targets")
	last := ""
	for _, r := range rows {
		if r.Workload != last && last != "" {
			fmt.Fprintln(w)
		}
		if r.Workload != last && r.Description != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Workload, r.Description)
		}
		last = r.Workload
		var ts []string
		for _, t := range r.Targets {
			verdict := "met"
			if !t.Met {
				verdict = "NOT MET"
			}
			ts = append(ts, fmt.Sprintf("%s %s %s (%s): %s", t.Name, t.Op, num(t.Limit), num(t.Value), verdict))
		}
		ts = append(ts, r.Warnings...)
		ref := r.Reference
		if ref == "" {
			ref = "-"
		}
		rps, cpu, non2xx := num(r.RPS), num(r.CPUms), fmt.Sprintf("%.0f", r.Non2xx)
		switch r.Case {
		case "sign-batch":
			cpu, non2xx = "-", "-"
		case "ref-vips":
			non2xx = "-"
		}
		line := fmt.Sprintf(format, r.Workload, r.Label, rps, opt(r.P50ms), opt(r.P99ms), cpu, opt(r.RSSMiB),
			non2xx, ref, opt(r.RPSRatio), opt(r.CPURatio), strings.Join(ts, "; "))
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
	fmt.Fprint(w, `
req/s, p50, p99: wrk's; CPU ms/req: the server's user+system CPU over the run
(/proc/PID/stat) divided by the requests wrk completed; RSS: the server's
peak (VmHWM); non2xx: answers that were not 2xx, summed over repetitions.
"rps x" and "CPU x" divide the row's medians by its reference's. For
vipsthumbnail, req/s is images per second on one thread and CPU ms/req is
per image; for sign --batch, req/s is lines per second.
`)
}
