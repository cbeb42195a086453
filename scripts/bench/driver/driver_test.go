package main

import (
	"slices"
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
