package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// paramFlags are the sign flags that set URL parameters, named as the
// parameters are except where a name would be cryptic on a command line.
var paramFlags = []struct {
	param, flag, short, usage string
}{
	{"w", "w", "w", "width of the target box, in CSS pixels"},
	{"h", "h", "h", "height of the target box, in CSS pixels"},
	{"dpr", "dpr", "", "device pixel ratio, 1 to 4 (multiplies w and h)"},
	{"fit", "fit", "", "cover, contain, fill, inside or outside"},
	{"position", "position", "", "part kept by a cover crop: center, top, right, bottom, left or smart"},
	{"fm", "fm", "", "output format: jpg, png, webp, avif or gif"},
	{"auto", "auto", "", `"format": pick avif or webp by the browser's Accept header`},
	{"q", "q", "q", "quality, 1 to 100"},
	{"blur", "blur", "", "Gaussian blur sigma, 0.3 to 100"},
	{"sharpen", "sharpen", "", "sharpen sigma, 0.3 to 10"},
	{"rot", "rot", "", "rotation: 90, 180 or 270"},
	{"flip", "flip", "", "mirror: h, v or hv"},
	{"bg", "bg", "", "background, RRGGBB or RRGGBBAA in lower-case hex"},
	{"v", "v", "", "version tag of the original (changes the URL when the original changes)"},
}

func newSignCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign KEY [flags]",
		Short: "Print a signed URL, a srcset, or <picture> markup for an object key",
		Long: `Print a signed URL for the object KEY with the given parameters.

  imgproxy sign photos/cat.jpg -w 400 --fm webp
  imgproxy sign photos/cat.jpg --fm webp --widths 320,640,1280
  imgproxy sign photos/cat.jpg -w 800 -h 600 --widths 400,800 --picture --alt "A cat"
  imgproxy sign --batch < images.jsonl > urls.jsonl

With --from-origin, each original is looked up at the origin serve reads
(origin.dir or origin.s3.*, from the same configuration): its URLs get v, a
short address of its content, and markup the real width and height of what
the server returns; --placeholder adds a tiny blurred preview (libvips
build only).

  imgproxy sign photos/cat.jpg -w 800 --widths 400,800,1600 --picture --from-origin --placeholder
  imgproxy sign --batch --from-origin < images.jsonl > urls.jsonl

The signing key comes from the configuration (signing.keys), the environment
(IMGPROXY_SIGNING_KEYS) or --key-file, never from a flag value. Parameters are
validated exactly as the server does: what it would refuse, sign refuses.`,
		Args: func(cmd *cobra.Command, args []string) error {
			batch, _ := cmd.Flags().GetBool("batch")
			if batch && len(args) > 0 {
				return errors.New("--batch reads object keys from stdin: give no KEY")
			}
			if !batch && len(args) != 1 {
				return errors.New("want exactly one object KEY (or --batch)")
			}
			return nil
		},
		RunE: runSign,
	}
	f := cmd.Flags()
	f.Bool("help", false, "help for sign") // no -h: it is the height
	for _, p := range paramFlags {
		f.StringP(p.flag, p.short, "", p.usage)
	}
	f.Bool("enlarge", false, "allow output larger than the original")
	f.String("expires", "", "add exp: a duration from now (24h, 30m) or an RFC 3339 time")
	f.String("widths", "", "print a srcset over these widths, e.g. 320,640,1280")
	f.Bool("picture", false, "print <picture> markup with AVIF and WebP sources and an <img> fallback")
	f.String("sizes", "", "sizes attribute for --picture")
	f.String("alt", "", "alt text for --picture")
	f.Bool("batch", false, "read JSON lines from stdin, write one JSON line per input line")
	f.String("key-file", "", "file holding the signing keys (overrides signing.keys)")
	f.String("base-url", "", "prefix of printed URLs, e.g. https://img.example.com or https://example.com/img")
	f.Bool("from-origin", false, "look each original up at the origin: v from its content, real width and height")
	f.Bool("placeholder", false, "with --from-origin: add a tiny blurred preview as a data URI (libvips build)")
	f.Int("concurrency", sign.DefaultLookups, "with --batch --from-origin: originals looked up at once")
	f.String("origin-dir", "", "serve originals from this directory (origin.dir), as serve does")
	onlyOnce(f)
	return cmd
}

// onlyOnce makes every flag of f an error when given twice: "-w 300 -w 400"
// is a slip, and silently signing one of them hides it.
func onlyOnce(f *pflag.FlagSet) {
	f.VisitAll(func(fl *pflag.Flag) {
		fl.Value = &onceValue{Value: fl.Value, name: fl.Name}
	})
}

type onceValue struct {
	pflag.Value
	name string
	set  bool
}

func (v *onceValue) Set(s string) error {
	if v.set {
		return fmt.Errorf("--%s given twice", v.name)
	}
	v.set = true
	return v.Value.Set(s)
}

// IsBoolFlag keeps "--picture" meaning true, as pflag's bool flags do.
func (v *onceValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// singleURLFlags shape one URL; a batch takes all of that from its lines.
var singleURLFlags = []string{"enlarge", "widths", "picture", "sizes", "alt"}

// refuseWithBatch names the first flag set that a batch would ignore.
func refuseWithBatch(f *pflag.FlagSet) error {
	names := slices.Clone(singleURLFlags)
	for _, p := range paramFlags {
		names = append(names, p.flag)
	}
	for _, n := range names {
		if f.Changed(n) {
			return fmt.Errorf("--%s shapes one URL: with --batch, put it in each line's params (or widths)", n)
		}
	}
	return nil
}

func runSign(cmd *cobra.Command, args []string) error {
	cfg, err := loadConfig(cmd, map[string]string{
		"signing.key_file": "key-file",
		"signing.base_url": "base-url",
		"origin.dir":       "origin-dir",
	})
	if err != nil {
		return err
	}
	s, err := newSigner(cfg)
	if err != nil {
		return err
	}
	f := cmd.Flags()
	var extra []urlsig.Param
	if e, _ := f.GetString("expires"); e != "" {
		exp, err := parseExpires(e, time.Now())
		if err != nil {
			return err
		}
		extra = append(extra, urlsig.Param{Name: "exp", Value: strconv.FormatInt(exp, 10)})
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	originals, closeOrigin, err := openOriginals(ctx, cmd, cfg)
	if err != nil {
		return err
	}
	defer closeOrigin()

	if batch, _ := f.GetBool("batch"); batch {
		if err := refuseWithBatch(f); err != nil {
			return err
		}
		// A batch allocates quickly but keeps little alive (a few chunks of
		// lines): collecting a quarter as often costs a few MiB and saves
		// about a fifth of its time. GOGC, when set, still wins.
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}
		lookups, _ := f.GetInt("concurrency")
		failed, err := s.BatchWith(ctx, cmd.InOrStdin(), cmd.OutOrStdout(),
			sign.BatchOptions{Extra: extra, Originals: originals, Lookups: lookups})
		if err != nil {
			return err
		}
		if failed > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "imgproxy: %d line(s) failed\n", failed)
			return exitError{1}
		}
		return nil
	}

	ps := extra
	for _, p := range paramFlags {
		if v, _ := f.GetString(p.flag); f.Changed(p.flag) {
			ps = append(ps, urlsig.Param{Name: p.param, Value: v})
		}
	}
	if enlarge, _ := f.GetBool("enlarge"); enlarge {
		ps = append(ps, urlsig.Param{Name: "enlarge", Value: "1"})
	}
	var widths []int
	if w, _ := f.GetString("widths"); w != "" {
		if widths, err = sign.ParseWidths(w); err != nil {
			return err
		}
	}

	key := args[0]
	var orig *sign.Original
	if originals != nil {
		if f.Changed("v") {
			return errors.New("--v and --from-origin: the version comes from the origin, drop --v")
		}
		// Signed first without v, so that a refused parameter costs no
		// lookup and reads as it would without --from-origin.
		if _, err := s.URL(key, ps); err != nil {
			return err
		}
		r, err := originals.Lookup(ctx, key)
		if err != nil {
			return err
		}
		orig = &r
		ps = append(ps, urlsig.Param{Name: "v", Value: r.Version})
	}
	var out string
	switch picture, _ := f.GetBool("picture"); {
	case picture:
		sizes, _ := f.GetString("sizes")
		alt, _ := f.GetString("alt")
		out, err = s.Picture(key, ps, sign.PictureOptions{Widths: widths, Sizes: sizes, Alt: alt, Original: orig})
	case f.Changed("sizes") || f.Changed("alt"):
		return errors.New("--sizes and --alt are for --picture")
	case widths != nil:
		out, _, err = s.SrcsetOf(key, ps, widths, orig)
	default:
		out, err = s.URL(key, ps)
	}
	if err != nil {
		return err
	}
	if out[len(out)-1] != '\n' {
		out += "\n"
	}
	if picture, _ := f.GetBool("picture"); !picture && orig != nil && orig.Placeholder != "" {
		out += orig.Placeholder + "\n" // the markup carries it; a URL or srcset gets a line of its own
	}
	_, err = fmt.Fprint(cmd.OutOrStdout(), out)
	return err
}

// openOriginals opens the origin for --from-origin, as serve opens it, and
// the placeholder maker for --placeholder; nil without --from-origin.
func openOriginals(ctx context.Context, cmd *cobra.Command, cfg *config.Config) (*sign.Originals, func(), error) {
	f := cmd.Flags()
	fromOrigin, _ := f.GetBool("from-origin")
	placeholder, _ := f.GetBool("placeholder")
	lookups, _ := f.GetInt("concurrency")
	switch {
	case !fromOrigin && (placeholder || f.Changed("concurrency") || f.Changed("origin-dir")):
		return nil, nil, errors.New("--placeholder, --concurrency and --origin-dir need --from-origin: the original is read at the origin")
	case !fromOrigin:
		return nil, func() {}, nil
	case lookups < 1 || lookups > 256:
		return nil, nil, fmt.Errorf("--concurrency: want 1 to 256 lookups at once, got %d", lookups)
	case cfg.Origin.Dir == "" && cfg.Origin.S3.Bucket == "":
		return nil, nil, errors.New("--from-origin: no origin configured: set origin.s3.bucket (IMGPROXY_ORIGIN_S3_BUCKET) or origin.dir (IMGPROXY_ORIGIN_DIR, --origin-dir), as for serve")
	case placeholder && !transform.Available:
		return nil, nil, errors.New("--placeholder decodes each original with libvips, and this binary was built without it (CGO_ENABLED=0): use the libvips build, or drop --placeholder")
	}
	src, closeOrigin, err := openOrigin(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	peeker, ok := src.(sign.Source)
	if !ok {
		closeOrigin()
		return nil, nil, errors.New("--from-origin: this origin cannot read part of an original")
	}
	var ph sign.Placeholder
	if placeholder {
		if ph, err = newPlaceholder(cfg, lookups); err != nil {
			closeOrigin()
			return nil, nil, err
		}
	}
	return sign.NewOriginals(peeker, ph), closeOrigin, nil
}

// Placeholder geometry and encoding. 16 pixels on the long side at WebP
// quality 40 after a light blur (sigma 0.5: the browser's stretching over
// the <img>'s box smooths it further, and more would wash out a 16-pixel
// image's colours) is 100 to 250 bytes, under 400 as a data URI.
const (
	placeholderSide    = 16
	placeholderQuality = 40
	placeholderBlur    = 0.5
	// PlaceholderMax bounds a placeholder's data URI: one that comes out
	// larger is made again at half the size.
	placeholderMax = 400
)

// newPlaceholder makes placeholders with libvips: one decode of the
// original (shrunk on load), resized to fit 16x16, blurred, as WebP. It is
// the server's own pipeline: orientation applied, colours in sRGB.
func newPlaceholder(cfg *config.Config, workers int) (sign.Placeholder, error) {
	tr, err := transform.New(transform.Config{
		Workers:      min(workers, runtime.NumCPU()),
		Queue:        workers,
		QueueTimeout: time.Hour, // the batch bounds what waits
		Limits:       transformLimits(cfg),
		Encoding:     transform.Encoding{QualityJPEG: 80, QualityWebP: placeholderQuality, QualityAVIF: 60, EffortWebP: 6, EffortAVIF: 2},
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, src []byte) (string, error) {
		for side := placeholderSide; ; side /= 2 {
			o := &params.Options{Width: side, Height: side, DPR: 100, Fit: params.FitInside, Enlarge: false,
				Blur: placeholderBlur, Quality: placeholderQuality, Transform: true}
			out, err := tr.Transform(ctx, src, o, params.FormatWebP)
			if err != nil {
				return "", err
			}
			uri := "data:image/webp;base64," + base64.StdEncoding.EncodeToString(out.Body)
			if len(uri) <= placeholderMax || side <= 4 {
				return uri, nil
			}
		}
	}, nil
}

// newSigner builds the signer from the configuration.
func newSigner(cfg *config.Config) (*sign.Signer, error) {
	if len(cfg.Signing.Keys) == 0 {
		return nil, errors.New("no signing key: set IMGPROXY_SIGNING_KEYS, signing.keys in the configuration, or --key-file (imgproxy keygen makes one)")
	}
	ring, err := urlsig.NewKeyRing(cfg.Signing.Keys)
	if err != nil {
		return nil, err
	}
	return &sign.Signer{
		Ring:    ring,
		BaseURL: cfg.Signing.BaseURL,
		Limits:  params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim},
	}, nil
}

// parseExpires turns --expires (a duration from now, or an RFC 3339 time)
// into unix seconds.
func parseExpires(s string, now time.Time) (int64, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return 0, fmt.Errorf("--expires: want a positive duration, got %q", s)
		}
		return now.Add(d).Unix(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("--expires: want a duration like 24h or an RFC 3339 time like 2027-01-01T00:00:00Z, got %q", s)
	}
	if !t.After(now) {
		return 0, fmt.Errorf("--expires: %s is in the past", s)
	}
	return t.Unix(), nil
}
