package params

import (
	"errors"
	"fmt"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// ErrInvalid is the kind of every parameter error; the server answers 400.
var ErrInvalid = errors.New("invalid parameter")

// Limits are the configurable bounds a URL is checked against.
type Limits struct {
	// MaxOutputDim bounds w·dpr and h·dpr, in pixels.
	MaxOutputDim int
}

// DefaultLimits are the limits of the default configuration.
var DefaultLimits = Limits{MaxOutputDim: 8192}

func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%w %s: "+format, append([]any{ErrInvalid, name}, args...)...)
}

// Parse validates every parameter and returns the options. Its error joins
// one error per bad parameter, so a user sees them all at once.
func Parse(ps []urlsig.Param, lim Limits) (Options, error) {
	o := Options{DPR: 100}
	var errs []error
	bad := func(err error) { errs = append(errs, err) }
	for _, p := range ps {
		name, v := p.Name, p.Value
		if name != "v" && name != "exp" {
			o.Transform = true
		}
		switch name {
		case "w", "h":
			n, ok := parseUint(v)
			if !ok || n < 1 || n > lim.MaxOutputDim {
				bad(invalid(name, "want an integer from 1 to %d without leading zeros, got %q", lim.MaxOutputDim, v))
				continue
			}
			if name == "w" {
				o.Width = n
			} else {
				o.Height = n
			}
		case "dpr":
			n, ok := parseDecimal(v)
			if !ok || n < 100 || n > 400 {
				bad(invalid(name, "want a number from 1 to 4 with at most 2 decimals and no trailing zeros (1.5, not 1.50), got %q", v))
				continue
			}
			o.DPR = n
		case "fit":
			f, ok := lookup(fitNames[:], v)
			if !ok {
				bad(invalid(name, "want one of cover, contain, fill, inside, outside, got %q", v))
			}
			o.Fit = Fit(f)
		case "position":
			pos, ok := lookup(positionNames[:], v)
			if !ok {
				bad(invalid(name, "want one of center, top, right, bottom, left, smart, got %q", v))
			}
			o.Position = Position(pos)
		case "enlarge":
			if v != "1" {
				bad(invalid(name, "the only value is 1, got %q", v))
			}
			o.Enlarge = true
		case "fm":
			f, ok := ParseFormat(v)
			if !ok {
				bad(invalid(name, "want one of jpg, png, webp, avif, gif, got %q", v))
			}
			o.Format = f
		case "auto":
			if v != "format" {
				bad(invalid(name, "the only value is format, got %q", v))
			}
			o.AutoFormat = true
		case "q":
			n, ok := parseUint(v)
			if !ok || n < 1 || n > 100 {
				bad(invalid(name, "want an integer from 1 to 100 without leading zeros, got %q", v))
			}
			o.Quality = n
		case "blur":
			n, ok := parseDecimal(v)
			if !ok || n < 30 || n > 10000 {
				bad(invalid(name, "want a sigma from 0.3 to 100 with at most 2 decimals and no trailing zeros, got %q", v))
			}
			o.Blur = float64(n) / 100
		case "sharpen":
			n, ok := parseDecimal(v)
			if !ok || n < 30 || n > 1000 {
				bad(invalid(name, "want a sigma from 0.3 to 10 with at most 2 decimals and no trailing zeros, got %q", v))
			}
			o.Sharpen = float64(n) / 100
		case "rot":
			switch v {
			case "90", "180", "270":
				o.Rotate, _ = parseUint(v)
			default:
				bad(invalid(name, "want 90, 180 or 270, got %q", v))
			}
		case "flip":
			switch v {
			case "h":
				o.FlipH = true
			case "v":
				o.FlipV = true
			case "hv":
				o.FlipH, o.FlipV = true, true
			default:
				bad(invalid(name, "want h, v or hv, got %q", v))
			}
		case "bg":
			c, ok := parseColor(v)
			if !ok {
				bad(invalid(name, "want RRGGBB or RRGGBBAA in lower-case hex, got %q", v))
			}
			o.Background, o.HasBg = c, true
		case "v":
			if !validVersion(v) {
				bad(invalid(name, "want 1 to 64 characters of A-Z a-z 0-9 _ -, got %q", v))
			}
			o.Version = v
		case "exp":
			n, err := urlsig.ParseExp(v)
			if err != nil {
				bad(invalid(name, "want unix seconds without leading zeros, got %q", v))
			}
			o.Expires = n
		default:
			bad(invalid(name, "unknown parameter"))
		}
	}
	if o.Width > 0 && o.PixelWidth() > lim.MaxOutputDim {
		bad(invalid("dpr", "w·dpr is %d pixels, more than %d", o.PixelWidth(), lim.MaxOutputDim))
	}
	if o.Height > 0 && o.PixelHeight() > lim.MaxOutputDim {
		bad(invalid("dpr", "h·dpr is %d pixels, more than %d", o.PixelHeight(), lim.MaxOutputDim))
	}
	return o, errors.Join(errs...)
}

func lookup(names []string, v string) (int, bool) {
	for i, n := range names {
		if n == v {
			return i, true
		}
	}
	return 0, false
}

// parseUint parses a canonical positive integer of at most 9 digits.
func parseUint(v string) (int, bool) {
	if v == "" || len(v) > 9 || v[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseDecimal parses a canonical decimal with at most two decimals and no
// trailing zeros ("0.3", "1", "1.5", "2.25") into hundredths.
func parseDecimal(v string) (int, bool) {
	whole, frac := v, ""
	for i := 0; i < len(v); i++ {
		if v[i] == '.' {
			whole, frac = v[:i], v[i+1:]
			if frac == "" || len(frac) > 2 || frac[len(frac)-1] == '0' {
				return 0, false
			}
			break
		}
	}
	var n int
	if whole == "0" {
		if frac == "" {
			return 0, false // zero is never a valid value, and "0" alone is not canonical here
		}
	} else {
		var ok bool
		if n, ok = parseUint(whole); !ok || n > 100000 {
			return 0, false
		}
	}
	n *= 100
	for i, scale := 0, 10; i < len(frac); i, scale = i+1, scale/10 {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n += int(c-'0') * scale
	}
	return n, true
}

func parseColor(v string) (Color, bool) {
	if len(v) != 6 && len(v) != 8 {
		return Color{}, false
	}
	var b [4]byte
	b[3] = 0xff
	for i := 0; i < len(v); i += 2 {
		hi, ok1 := lowerHex(v[i])
		lo, ok2 := lowerHex(v[i+1])
		if !ok1 || !ok2 {
			return Color{}, false
		}
		b[i/2] = hi<<4 | lo
	}
	return Color{b[0], b[1], b[2], b[3]}, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func validVersion(v string) bool {
	if len(v) < 1 || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
