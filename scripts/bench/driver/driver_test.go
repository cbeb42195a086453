package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestMiB(t *testing.T) {
	for in, want := range map[string]float64{"256MiB": 256, "1GiB": 1024, "512KiB": 0.5, "1048576": 1, "100MB": 1e8 / (1 << 20)} {
		if got, err := mib(in); err != nil || got != want {
			t.Errorf("mib(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := mib("lots"); err == nil {
		t.Error("mib(lots): no error")
	}
}

// Every workload is complete, and the hit cases are the report's.
func TestTables(t *testing.T) {
	seen := map[string]bool{}
	for _, wl := range workloads {
		if wl.name == "" || wl.desc == "" || wl.src == "" || wl.ext == "" || wl.fm == "" || wl.q <= 0 || wl.w <= 0 ||
			wl.outExt == "" || wl.vips == "" || seen[wl.name] {
			t.Errorf("workload %+v", wl)
		}
		seen[wl.name] = true
	}
	if got := hitCaseNames(); !slices.Equal(got, []string{"mem-hit", "ref-bare", "mem-hit-32", "ref-bare-32", "disk-hit", "ref-nginx"}) {
		t.Errorf("hit cases %v", got)
	}
}

// perf script's samples go to the bucket of their stack: for hits by any
// frame's symbol, for misses by the scheduler anywhere or else the leaf
// frame's object.
func TestBucketSamples(t *testing.T) {
	const script = `imgproxy 1234 [001] 10.000001: 1001001 cpu-clock:pppH:
	    7f0000001000 jpeg_idct_islow+0x12 (/usr/lib/x86_64-linux-gnu/libjpeg.so.62.3.0)
	    7f0000002000 vips_region_prepare+0x40 (/usr/lib/x86_64-linux-gnu/libvips.so.42.16.1)

imgproxy 1235 [000] 10.000002: 1001001 cpu-clock:pppH:
	ffffffff81000000 finish_task_switch.isra.0+0x90 ([kernel.kallsyms])
	ffffffff81000100 __schedule+0x300 ([kernel.kallsyms])
	ffffffff81000200 futex_wait+0x10 ([kernel.kallsyms])
	    7f0000003000 g_cond_wait+0x20 (/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0.7400.6)

imgproxy 1236 [001] 10.000003: 1001001 cpu-clock:pppH:
	          4a0000 runtime.mallocgc+0x10 (/tmp/bin/imgproxy)
	          4b0000 net/http.serverHandler.ServeHTTP+0x20 (/tmp/bin/imgproxy)

`
	miss := bucketSamples(strings.NewReader(script), missBucket)
	if want := map[string]int{"libjpeg": 1, "kernel: scheduling": 1, "Go (imgproxy)": 1}; !maps.Equal(miss, want) {
		t.Errorf("miss buckets %v, want %v", miss, want)
	}
	hit := bucketSamples(strings.NewReader(script), hitBucket)
	if want := map[string]int{"other": 2, "handler": 1}; !maps.Equal(hit, want) {
		t.Errorf("hit buckets %v, want %v", hit, want)
	}
	for _, n := range append(profileBucketNames, missBucketNames...) {
		if f := profileField(n); strings.ContainsAny(f, " ,:()") {
			t.Errorf("field %q of bucket %q", f, n)
		}
	}
}
