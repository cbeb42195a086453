package params

import (
	"errors"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

func parse1(name, value string) (Options, error) {
	return Parse([]urlsig.Param{{Name: name, Value: value}}, DefaultLimits)
}

func TestParseValues(t *testing.T) {
	type check func(Options) bool
	for _, c := range []struct {
		name  string
		valid map[string]check
		bad   []string
	}{
		{"w", map[string]check{
			"1":    func(o Options) bool { return o.Width == 1 },
			"400":  func(o Options) bool { return o.Width == 400 && o.PixelWidth() == 400 },
			"8192": func(o Options) bool { return o.Width == 8192 },
		}, []string{"0", "8193", "0400", "-1", "+1", "1.0", "1e3", "abc", " 1", "9999999999"}},
		{"h", map[string]check{
			"1":    func(o Options) bool { return o.Height == 1 },
			"8192": func(o Options) bool { return o.Height == 8192 },
		}, []string{"0", "8193", "01", "x"}},
		{"dpr", map[string]check{
			"1":    func(o Options) bool { return o.DPR == 100 },
			"1.5":  func(o Options) bool { return o.DPR == 150 },
			"2.25": func(o Options) bool { return o.DPR == 225 },
			"1.01": func(o Options) bool { return o.DPR == 101 },
			"4":    func(o Options) bool { return o.DPR == 400 },
		}, []string{"0.99", "4.01", "1.0", "1.50", "01.5", ".5", "1.", "1.234", "2,5", "0", "5", "1e0"}},
		{"fit", map[string]check{
			"cover":   func(o Options) bool { return o.Fit == FitCover },
			"contain": func(o Options) bool { return o.Fit == FitContain },
			"fill":    func(o Options) bool { return o.Fit == FitFill },
			"inside":  func(o Options) bool { return o.Fit == FitInside },
			"outside": func(o Options) bool { return o.Fit == FitOutside },
		}, []string{"Cover", "crop", "scale-down"}},
		{"position", map[string]check{
			"center": func(o Options) bool { return o.Position == PositionCenter },
			"top":    func(o Options) bool { return o.Position == PositionTop },
			"right":  func(o Options) bool { return o.Position == PositionRight },
			"bottom": func(o Options) bool { return o.Position == PositionBottom },
			"left":   func(o Options) bool { return o.Position == PositionLeft },
			"smart":  func(o Options) bool { return o.Position == PositionSmart },
		}, []string{"centre", "attention", "north", "Top"}},
		{"enlarge", map[string]check{
			"1": func(o Options) bool { return o.Enlarge },
		}, []string{"0", "true", "yes", "01"}},
		{"fm", map[string]check{
			"jpg":  func(o Options) bool { return o.Format == FormatJPEG },
			"png":  func(o Options) bool { return o.Format == FormatPNG },
			"webp": func(o Options) bool { return o.Format == FormatWebP },
			"avif": func(o Options) bool { return o.Format == FormatAVIF },
			"gif":  func(o Options) bool { return o.Format == FormatGIF },
		}, []string{"jpeg", "JPG", "tiff", "heic", "svg"}},
		{"auto", map[string]check{
			"format": func(o Options) bool { return o.AutoFormat },
		}, []string{"compress", "Format"}},
		{"q", map[string]check{
			"1":   func(o Options) bool { return o.Quality == 1 },
			"80":  func(o Options) bool { return o.Quality == 80 },
			"100": func(o Options) bool { return o.Quality == 100 },
		}, []string{"0", "101", "080", "80.5"}},
		{"blur", map[string]check{
			"0.3": func(o Options) bool { return o.Blur == 0.3 },
			"2.5": func(o Options) bool { return o.Blur == 2.5 },
			"100": func(o Options) bool { return o.Blur == 100 },
		}, []string{"0.29", "0", "100.01", "0.30", "00.3", "2.50", "101"}},
		{"sharpen", map[string]check{
			"0.3": func(o Options) bool { return o.Sharpen == 0.3 },
			"10":  func(o Options) bool { return o.Sharpen == 10 },
		}, []string{"0.2", "10.01", "11", "1.10"}},
		{"rot", map[string]check{
			"90":  func(o Options) bool { return o.Rotate == 90 },
			"180": func(o Options) bool { return o.Rotate == 180 },
			"270": func(o Options) bool { return o.Rotate == 270 },
		}, []string{"0", "360", "45", "-90", "090"}},
		{"flip", map[string]check{
			"h":  func(o Options) bool { return o.FlipH && !o.FlipV },
			"v":  func(o Options) bool { return !o.FlipH && o.FlipV },
			"hv": func(o Options) bool { return o.FlipH && o.FlipV },
		}, []string{"vh", "x", "H", "both"}},
		{"bg", map[string]check{
			"ffffff":   func(o Options) bool { return o.HasBg && o.Background == Color{255, 255, 255, 255} },
			"00000000": func(o Options) bool { return o.Background == Color{0, 0, 0, 0} },
			"1a2b3c80": func(o Options) bool { return o.Background == Color{0x1a, 0x2b, 0x3c, 0x80} },
		}, []string{"FFFFFF", "fff", "fffffff", "gggggg", "#ffffff", "fffffffff"}},
		{"v", map[string]check{
			"5d41402a":              func(o Options) bool { return o.Version == "5d41402a" && !o.Transform },
			"a":                     func(o Options) bool { return o.Version == "a" },
			strings.Repeat("Z", 64): func(o Options) bool { return len(o.Version) == 64 },
			"A_b-9":                 func(o Options) bool { return o.Version == "A_b-9" },
		}, []string{strings.Repeat("a", 65), "a.b", "a b", "é"}},
		{"exp", map[string]check{
			"1893456000": func(o Options) bool { return o.Expires == 1893456000 && !o.Transform },
			"0":          func(o Options) bool { return o.Expires == 0 },
		}, []string{"01", "-1", "1.5", "x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for v, ok := range c.valid {
				o, err := parse1(c.name, v)
				if err != nil {
					t.Errorf("%s=%s: %v", c.name, v, err)
					continue
				}
				if !ok(o) {
					t.Errorf("%s=%s: options %+v", c.name, v, o)
				}
			}
			for _, v := range c.bad {
				_, err := parse1(c.name, v)
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%s=%q accepted", c.name, v)
					continue
				}
				if !strings.Contains(err.Error(), c.name+":") || !strings.Contains(err.Error(), v) {
					t.Errorf("%s=%q: error %q should name the parameter and value", c.name, v, err)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	o, err := Parse(nil, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{DPR: 100, Fit: FitCover, Position: PositionCenter, Format: FormatDefault}
	if o != want {
		t.Errorf("defaults %+v, want %+v", o, want)
	}
	if o, _ := parse1("w", "10"); !o.Transform {
		t.Error("w=10 is a transform")
	}
}

func TestDPRProductLimit(t *testing.T) {
	for _, c := range []struct {
		w, h, dpr string
		max       int
		ok        bool
		pw, ph    int
	}{
		{"4096", "", "2", 8192, true, 8192, 0},
		{"4097", "", "2", 8192, false, 0, 0},
		{"", "2731", "3", 8192, false, 0, 0},
		{"", "2730", "3", 8192, true, 0, 8190},
		{"333", "333", "1.5", 8192, true, 500, 500}, // 499.5 rounds up
		{"100", "", "1.01", 101, true, 101, 0},
		{"100", "", "1.02", 101, false, 0, 0},
	} {
		var ps []urlsig.Param
		if c.dpr != "" {
			ps = append(ps, urlsig.Param{Name: "dpr", Value: c.dpr})
		}
		if c.h != "" {
			ps = append(ps, urlsig.Param{Name: "h", Value: c.h})
		}
		if c.w != "" {
			ps = append(ps, urlsig.Param{Name: "w", Value: c.w})
		}
		o, err := Parse(ps, Limits{MaxOutputDim: c.max})
		if (err == nil) != c.ok {
			t.Errorf("%+v: err %v", c, err)
			continue
		}
		if c.ok && (o.PixelWidth() != c.pw || o.PixelHeight() != c.ph) {
			t.Errorf("%+v: pixels %dx%d", c, o.PixelWidth(), o.PixelHeight())
		}
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse([]urlsig.Param{{Name: "fit", Value: "crop"}, {Name: "q", Value: "0"}, {Name: "w", Value: "0"}}, DefaultLimits)
	for _, name := range []string{"fit:", "q:", "w:"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not report %s", err, name)
		}
	}
}
