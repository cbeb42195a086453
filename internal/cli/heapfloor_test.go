//go:build linux

package cli

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"unsafe"
)

// The floor raises the collector's goal by twice its size, and costs no
// resident memory of its own: read from the runtime's own metrics and from
// the kernel's record of which of the floor's pages are in memory
// (mincore(2)). It runs in a process of its own, as serve sets the floor
// in a fresh one: in this package's process other tests free large
// allocations, and memory the heap reuses is zeroed (touched) on
// allocation, which serve's never is.
func TestHeapFloor(t *testing.T) {
	if os.Getenv("IMGPROXY_TEST_HEAP_FLOOR") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHeapFloor$", "-test.count=1")
		cmd.Env = append(os.Environ(), "IMGPROXY_TEST_HEAP_FLOOR=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		return
	}
	goal := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	t.Cleanup(func() { setHeapFloor(0) })
	before := goal()
	const floor = 64 << 20
	setHeapFloor(floor)
	after := goal()
	if after < before+2*floor-(8<<20) {
		t.Errorf("heap goal %d MiB with a %d MiB floor, %d MiB without", after>>20, floor>>20, before>>20)
	}
	if n := residentPages(t, heapFloor); n*os.Getpagesize() > 1<<20 {
		t.Errorf("%d KiB of the floor's %d MiB are resident: its pages were touched", n*os.Getpagesize()>>10, floor>>20)
	}
	setHeapFloor(0)
	if g := goal(); g > before+(8<<20) {
		t.Errorf("heap goal %d MiB after the floor was removed, %d MiB before", g>>20, before>>20)
	}
}

// residentPages counts the pages of b that are in memory.
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b))) &^ (page - 1)
	end := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b))
	vec := make([]byte, (end-start+page-1)/page)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
