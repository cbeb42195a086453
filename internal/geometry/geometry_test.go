package geometry

import (
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// Output is Fit on the source as rot turns it, at w·dpr and h·dpr. Fit's
// own cases are internal/transform's TestFitBox, which calls it.
func TestOutput(t *testing.T) {
	for _, c := range []struct {
		name   string
		sw, sh int
		o      params.Options
		w, h   int
	}{
		{"none", 600, 400, params.Options{DPR: 100}, 600, 400},
		{"w", 600, 400, params.Options{Width: 300, DPR: 100}, 300, 200},
		{"w past the original", 600, 400, params.Options{Width: 900, DPR: 100}, 600, 400},
		{"w past, enlarge", 600, 400, params.Options{Width: 900, DPR: 100, Enlarge: true}, 900, 600},
		{"dpr", 600, 400, params.Options{Width: 150, DPR: 200}, 300, 200},
		{"rot 90 turns first", 600, 400, params.Options{Width: 200, DPR: 100, Rotate: 90}, 200, 300},
		{"cover box shrinks to fit", 600, 400, params.Options{Width: 800, Height: 800, DPR: 100}, 400, 400},
		{"inside", 600, 400, params.Options{Width: 300, Height: 300, DPR: 100, Fit: params.FitInside}, 300, 200},
	} {
		if w, h := Output(c.sw, c.sh, &c.o); w != c.w || h != c.h {
			t.Errorf("%s: %dx%d, want %dx%d", c.name, w, h, c.w, c.h)
		}
	}
}
