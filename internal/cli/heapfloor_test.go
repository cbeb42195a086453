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
// (mincore(2)). It runs in a process of its own, whose heap first uses and
// frees more than the floor: Go zeroes (touches) a large allocation that
// overlaps memory the heap used before, and the floor must cost nothing
// even then.
//
// The pages are counted only where mincore tells an untouched mapping
// from a touched one (some sandboxes report every page resident).
func TestHeapFloor(t *testing.T) {
	if os.Getenv("IMGPROXY_TEST_HEAP_FLOOR") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHeapFloor$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "IMGPROXY_TEST_HEAP_FLOOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		t.Logf("in a process of its own:\n%s", out)
		return
	}
	goal := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	t.Cleanup(func() { setHeapFloor(0) })
	used := make([]byte, 96<<20)
	for i := 0; i < len(used); i += os.Getpagesize() {
		used[i] = 1
	}
	used = nil
	before := goal()
	const floor = 64 << 20
	setHeapFloor(floor)
	after := goal()
	if after < before+2*floor-(8<<20) {
		t.Errorf("heap goal %d MiB with a %d MiB floor, %d MiB without", after>>20, floor>>20, before>>20)
	}
	if !mincoreTells(t) {
		t.Log("resident pages not counted: mincore here does not tell untouched pages from touched ones")
	} else if n := residentPages(t, heapFloor); n*os.Getpagesize() > 1<<20 {
		t.Errorf("%d KiB of the floor's %d MiB are resident: its pages were touched", n*os.Getpagesize()>>10, floor>>20)
	}
	setHeapFloor(0)
	if g := goal(); g > before+(8<<20) {
		t.Errorf("heap goal %d MiB after the floor was removed, %d MiB before", g>>20, before>>20)
	}
}

// mincoreTells reports whether mincore counts none of a fresh anonymous
// mapping's pages as resident and all of them once they are written.
func mincoreTells(t *testing.T) bool {
	t.Helper()
	const size = 4 << 20
	m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer syscall.Munmap(m)
	untouched := residentPages(t, m)
	for i := 0; i < size; i += os.Getpagesize() {
		m[i] = 1
	}
	touched := residentPages(t, m)
	return untouched == 0 && touched == size/os.Getpagesize()
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
