package server

import (
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// A phone's HEIC is served as every output format at the right size, and
// without parameters as JPEG (browsers other than Safari cannot show
// HEIC), from the directory origin and from S3.
func TestHEICSources(t *testing.T) {
	heic := heicFrom(t, testimages.JPEG(testimages.Photo(120, 80)))
	for _, from := range []string{"dir", "s3"} {
		t.Run(from, func(t *testing.T) {
			s := newStack(t, func(o *stackOptions) {
				if from == "dir" {
					o.dir = t.TempDir()
				}
			})
			s.put("phone.heic", heic)
			for _, f := range params.OutputFormats() {
				r := s.get(s.sign("phone.heic", "fm", f.String(), "w", "60"))
				if got, w, h := measure(t, r); r.status != 200 || got.String() != containerName(f) || w != 60 || h != 40 {
					t.Errorf("as %s: %d %v %dx%d", f, r.status, got, w, h)
				}
			}
			r := s.get(s.sign("phone.heic"))
			if got, w, h := measure(t, r); r.status != 200 || got != imagefmt.JPEG || w != 120 || h != 80 {
				t.Errorf("without parameters: %d %v %dx%d", r.status, got, w, h)
			}
		})
	}
}

// containerName is the name imagefmt gives the file format fm writes.
func containerName(f params.Format) string {
	if f == params.FormatJPEG {
		return imagefmt.JPEG.String()
	}
	return f.String()
}
