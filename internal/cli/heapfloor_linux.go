package cli

import (
	"os"
	"syscall"
	"unsafe"
)

// releasePages drops the physical pages behind the whole pages of b;
// reading them again gives zeros, which is what b holds. Best effort: a
// failure leaves the pages resident, which costs memory but is correct.
func releasePages(b []byte) {
	page := uintptr(os.Getpagesize())
	p := unsafe.Pointer(unsafe.SliceData(b))
	skip := (page - uintptr(p)%page) % page
	if uintptr(len(b)) < skip+page {
		return
	}
	whole := unsafe.Slice((*byte)(unsafe.Add(p, skip)), (uintptr(len(b))-skip)&^(page-1))
	_ = syscall.Madvise(whole, syscall.MADV_DONTNEED)
}
