package testtools

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// ProcStatus reads a size field of /proc/self/status ("VmRSS:", "VmHWM:")
// in bytes, skipping the test where there is no /proc.
func ProcStatus(t testing.TB, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// ResetPeak resets this process's peak resident set size (VmHWM; Linux
// 4.0 and later), skipping the test where it cannot.
func ResetPeak(t testing.TB) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// PeakGrowth runs f and returns how far the process's peak resident set
// rose above its resident set before f: what f cost at its worst moment,
// even if it freed everything before returning.
func PeakGrowth(t testing.TB, f func()) int64 {
	t.Helper()
	ResetPeak(t)
	before := ProcStatus(t, "VmRSS:")
	f()
	return ProcStatus(t, "VmHWM:") - before
}
