package cli

// heapFloor holds server.heap_floor's allocation for the life of the
// process. The collector counts it as live, so the heap's goal is twice
// (live data + floor) instead of Go's minimum of 4 MB: with a memory tier
// still small, a hit server would otherwise collect every couple of MB
// allocated by net/http and mark its whole live heap each time. The slice
// is never read or written, and its pages are handed back to the kernel
// right after the allocation (releasePages): Go zeroes a large allocation
// that overlaps memory the heap used before, which would make every page
// resident. So the floor costs resident memory only as garbage fills the
// room it makes. Once the memory tier holds more than the floor, it changes
// nothing.
//
//lint:ignore U1000 held for the collector to count, never read
var heapFloor []byte

func setHeapFloor(n int64) {
	heapFloor = nil
	if n > 0 {
		heapFloor = make([]byte, n)
		releasePages(heapFloor)
	}
}
