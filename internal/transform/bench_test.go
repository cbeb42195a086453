//go:build cgo

package transform

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/h2non/bimg"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// BenchmarkDownscale compares this package's transform with bimg's own
// resize pipeline on one 2048x1536 JPEG (q90) made 400 wide, one at a time
// (VIPS_CONCURRENCY is 1 unless set, so ns/op is close to CPU per image).
// bimg's default bicubic interpolator limits its JPEG shrink-on-load to
// 2x; with bilinear it goes to 4x. Measured here (medians): JPEG 13.0 ms
// against bimg's 24.0 (bicubic) and 13.0 (bilinear); WebP 25.5 against
// 35.8 and 26.3. On the Kodak photograph both 4x paths are 42.8 dB from a
// Lanczos resize of the full decode, bicubic's 2x one 43.1.
func BenchmarkDownscale(b *testing.B) {
	src := testimages.JPEGQuality(testimages.Photo(2048, 1536), 90)
	tr := newTransformer(b)
	for _, f := range []struct {
		name string
		ours params.Format
		bimg bimg.ImageType
	}{{"jpeg", params.FormatJPEG, bimg.JPEG}, {"webp", params.FormatWebP, bimg.WEBP}} {
		b.Run(f.name+"/imgproxy", func(b *testing.B) {
			o := opts(func(o *params.Options) { o.Width = 400; o.Quality = 80 })
			for b.Loop() {
				if _, err := tr.Transform(context.Background(), src, o, f.ours); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, ip := range []bimg.Interpolator{bimg.Bicubic, bimg.Bilinear} {
			b.Run(f.name+"/bimg-"+ip.String(), func(b *testing.B) {
				o := bimg.Options{Width: 400, Quality: 80, Type: f.bimg, StripMetadata: true, Interpolator: ip}
				for b.Loop() {
					if _, err := bimg.Resize(src, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOriginal measures what a URL without parameters costs now that
// metadata never passes: a 2048x1536 JPEG with EXIF and 10 KB of XMP stripped
// losslessly, against re-encoding it at its own size. Measured here: 0.09
// to 0.21 ms against 31 to 39 ms, so JPEG, PNG, WebP and GIF are stripped
// and only what cannot be (AVIF and TIFF with metadata, rotated EXIF) is
// re-encoded.
func BenchmarkOriginal(b *testing.B) {
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), make([]byte, 10000)...)
	jpg := testimages.WithOrientation(testimages.JPEGQuality(testimages.Photo(2048, 1536), 90), 1)
	seg := []byte{0xFF, 0xE1, byte((len(xmp) + 2) >> 8), byte(len(xmp) + 2)}
	src := append(append(append([]byte{}, jpg[:2]...), seg...), xmp...)
	src = append(src, jpg[2:]...)
	tr := newTransformer(b)
	b.Run("strip", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.Original(context.Background(), src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("re-encode", func(b *testing.B) {
		o := &params.Options{Transform: true}
		for b.Loop() {
			if _, err := tr.Transform(context.Background(), src, o, params.FormatJPEG); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAnimation measures an animated GIF kept animated (40 frames of
// 480x270, resized to 240 wide) against libvips' own CLI doing the same
// (vips thumbnail with n=-1), whose CPU is read from the child process
// after subtracting a run of the CLI on a 1-pixel image (its start-up).
// It reports ms of CPU per animation for both and their ratio.
func BenchmarkAnimation(b *testing.B) {
	vips, err := exec.LookPath("vips")
	if err != nil {
		b.Skip("vips CLI not installed (libvips-tools)")
	}
	dir := b.TempDir()
	src := testimages.QuadrantAnimationN(480, 270, 40)
	in := filepath.Join(dir, "anim.gif")
	os.WriteFile(in, src, 0o644)
	tiny := filepath.Join(dir, "tiny.gif")
	os.WriteFile(tiny, testimages.QuadrantAnimationN(2, 2, 1), 0o644)
	cpu := func(args ...string) time.Duration {
		cmd := exec.Command(vips, args...)
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	tr := newTransformer(b)
	o := &params.Options{Width: 240, DPR: 100, Transform: true}
	var ours, ref time.Duration
	for b.Loop() {
		// Interleaved, so that noise hits both alike.
		start := processCPU()
		if _, err := tr.Transform(context.Background(), src, o, params.FormatGIF); err != nil {
			b.Fatal(err)
		}
		ours += processCPU() - start
		ref += cpu("thumbnail", in+"[n=-1]", filepath.Join(dir, "out.gif"), "240") -
			cpu("thumbnail", tiny, filepath.Join(dir, "t.gif"), "1")
	}
	n := float64(b.N)
	b.ReportMetric(float64(ours.Milliseconds())/n, "ms-cpu/anim")
	b.ReportMetric(float64(ref.Milliseconds())/n, "vips-ms-cpu/anim")
	b.ReportMetric(float64(ours)/float64(ref), "ratio")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
