package transform

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Every valid PngSuite image transforms to PNG and WebP at width 32; every
// corrupt one (x*.png) is refused with a client error, never a crash.
func TestPngSuite(t *testing.T) {
	tr := newTransformer(t)
	files, err := filepath.Glob(filepath.Join(testimages.PngSuiteDir(t), "*.png"))
	if err != nil || len(files) < 170 {
		t.Fatalf("PngSuite: %d files, %v", len(files), err)
	}
	o := opts(func(o *params.Options) { o.Width = 32; o.Enlarge = true })
	for _, f := range files {
		name := filepath.Base(f)
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "x") {
			_, err := tr.Transform(context.Background(), src, o, params.FormatPNG)
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: corrupt file gave %v", name, err)
			}
			continue
		}
		for _, f := range []params.Format{params.FormatPNG, params.FormatWebP} {
			out, err := tr.Transform(context.Background(), src, o, f)
			if err != nil {
				t.Errorf("%s -> %v: %v", name, f, err)
				continue
			}
			if d := decode(t, out.Body); d.width != 32 || d.format != map[params.Format]imagefmt.Format{params.FormatPNG: imagefmt.PNG, params.FormatWebP: imagefmt.WebP}[f] {
				t.Errorf("%s -> %v: %v %dx%d", name, f, d.format, d.width, d.height)
			}
		}
	}
}
