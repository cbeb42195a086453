package cli

import (
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// The floor raises the collector's goal by twice its size, and costs no
// resident memory of its own: read from the runtime's own metrics and the
// kernel's count of the process's pages.
func TestHeapFloor(t *testing.T) {
	goal := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	t.Cleanup(func() { setHeapFloor(0) })
	before, rss := goal(), testtools.ProcStatus(t, "VmRSS")
	const floor = 64 << 20
	setHeapFloor(floor)
	after, grown := goal(), testtools.ProcStatus(t, "VmRSS")-rss
	if after < before+2*floor-(8<<20) {
		t.Errorf("heap goal %d MiB with a %d MiB floor, %d MiB without", after>>20, floor>>20, before>>20)
	}
	if grown > 8<<20 { // VmRSS is in bytes here
		t.Errorf("resident memory grew %d MiB with the floor: its pages were touched", grown>>20)
	}
	setHeapFloor(0)
	if g := goal(); g > before+(8<<20) {
		t.Errorf("heap goal %d MiB after the floor was removed, %d MiB before", g>>20, before>>20)
	}
}
