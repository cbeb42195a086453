//go:build cgo

package transform

/*
#cgo pkg-config: vips libheif
#include <stdlib.h>
#include "vips.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/h2non/bimg"
)

var (
	startOnce sync.Once
	startErr  error
)

// startLibvips finishes what bimg began when it loaded: bimg starts libvips
// and sets libvips' own thread pool to VIPS_CONCURRENCY (default 1, so
// parallelism comes from our workers); this turns the operation cache off
// and blocks untrusted loaders.
func startLibvips() error {
	startOnce.Do(func() {
		if C.ip_init() != 0 {
			startErr = errors.New("libvips: " + vipsError())
		}
	})
	return startErr
}

// HEICDecoder reports whether libheif can decode HEVC, which HEIC needs.
func HEICDecoder() bool { return C.ip_heic_decoder() != 0 }

// JXLLoader reports whether libvips was built with libjxl, which JPEG XL
// sources need.
func JXLLoader() bool { return C.ip_jxl_loader() != 0 }

// allowJXL unblocks libvips' JPEG XL loader, for the whole process.
func allowJXL() { C.ip_allow_jxl() }

// allowSVG unblocks libvips' SVG loader, for the whole process.
func allowSVG() { C.ip_allow_svg() }

// vipsError returns and clears libvips' error buffer.
func vipsError() string {
	msg := strings.TrimSpace(C.GoString(C.ip_error()))
	C.ip_error_clear()
	return msg
}

// withVipsThread runs f on one OS thread and then frees libvips' per-thread
// state, which otherwise lingers on whichever thread Go used.
func withVipsThread(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer C.vips_thread_shutdown()
	f()
}

// readHeader reads dimensions and alpha from src without decoding pixels.
func readHeader(src []byte) (source, error) {
	var w, h, swap, alpha, pages, icc C.int
	var rc C.int
	withVipsThread(func() {
		rc = C.ip_header(unsafe.Pointer(&src[0]), C.size_t(len(src)), &w, &h, &swap, &alpha, &pages, &icc)
	})
	if rc != 0 {
		return source{}, errors.New(vipsError())
	}
	s := source{width: int(w), height: int(h), hasAlpha: alpha != 0, toSRGB: icc != 0, frames: max(1, int(pages))}
	if swap != 0 {
		s.width, s.height = s.height, s.width
	}
	return s, nil
}

// render runs p on src and returns the encoded image. When ctx is done
// first, libvips is told to stop computing and render returns ctx's error,
// so an abandoned transform frees its worker promptly.
func render(ctx context.Context, src []byte, p *plan) ([]byte, error) {
	cp := C.ip_plan{
		thumb_w: C.int(p.thumbW), thumb_h: C.int(p.thumbH), jpeg_shrink: C.int(p.jpegShrink),
		rotate: C.int(p.rotate), flip_h: cbool(p.flipH), flip_v: cbool(p.flipV),
		crop:   C.int(p.crop),
		crop_x: C.int(p.cropX), crop_y: C.int(p.cropY), crop_w: C.int(p.cropW), crop_h: C.int(p.cropH),
		embed:   cbool(p.embed),
		embed_x: C.int(p.embedX), embed_y: C.int(p.embedY), embed_w: C.int(p.embedW), embed_h: C.int(p.embedH),
		flatten: cbool(p.flatten),
		blur:    C.double(p.blur), sharpen: C.double(p.sharpen),
		format:  C.int(cFormat[p.format]),
		quality: C.int(p.quality), effort: C.int(p.effort), to_srgb: cbool(p.toSRGB), animated: cbool(p.animated),
	}
	cp.bg = [4]C.double{C.double(p.bg.R), C.double(p.bg.G), C.double(p.bg.B), C.double(p.bg.A)}

	// The flag lives in C memory: libvips reads it from its own threads.
	stop := (*C.int)(C.calloc(1, C.size_t(unsafe.Sizeof(C.int(0)))))
	defer C.free(unsafe.Pointer(stop))
	finished := make(chan struct{})
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		select {
		case <-ctx.Done():
			atomic.StoreInt32((*int32)(unsafe.Pointer(stop)), 1)
		case <-finished:
		}
	}()

	var out unsafe.Pointer
	var n C.size_t
	var rc C.int
	withVipsThread(func() {
		rc = C.ip_run(unsafe.Pointer(&src[0]), C.size_t(len(src)), &cp, stop, &out, &n)
	})
	close(finished)
	<-watcher // the flag is freed below: nobody may write it after
	if rc != 0 {
		msg := vipsError()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New(msg)
	}
	defer C.g_free(C.gpointer(out))
	return C.GoBytes(out, C.int(n)), nil
}

var cFormat = [...]C.int{0, C.IP_JPEG, C.IP_PNG, C.IP_WEBP, C.IP_AVIF, C.IP_GIF}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// LibvipsVersion returns the version of the libvips the binary was built with.
func LibvipsVersion() string { return bimg.VipsVersion }

// Available reports whether this binary was built with libvips.
const Available = true

// LibvipsMemory returns the bytes libvips has allocated now, its high-water
// mark, and its live allocation count (memory Go's runtime does not see).
func LibvipsMemory() (bytes, highwater, allocs int64) {
	m := bimg.VipsMemory()
	return m.Memory, m.MemoryHighwater, m.Allocations
}
