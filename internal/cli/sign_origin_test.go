package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// originals writes one original of every readable format into a fresh
// directory and returns it with the files' contents.
func originals(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	real := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "imagefmt", "testdata", "real", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	files := map[string][]byte{
		"photos/wide.jpg":      testimages.JPEG(testimages.Photo(600, 400)),
		"photos/turned.jpg":    testimages.WithOrientation(testimages.JPEG(testimages.Photo(600, 400)), 6), // shown 400x600
		"photos/mirrored.jpg":  testimages.WithOrientation(testimages.JPEG(testimages.Photo(90, 30)), 2),
		"photos/quadrants.png": testimages.PNG(testimages.Quadrants(300, 100)),
		"photos/tall.png":      testimages.PNG(testimages.Quadrants(60, 180)),
		"photos/anim.gif":      real("anim.gif"),
		"photos/lossy.webp":    real("lossy.webp"),
		"photos/alpha.webp":    real("alpha.webp"),
		"photos/photo.avif":    real("photo.avif"),
		"photos/photo.heic":    real("photo.heic"),
		"photos/photo.tif":     real("photo.tif"),
		"broken/cut.jpg":       testimages.JPEG(testimages.Photo(600, 400))[:150],
		"broken/page.html":     []byte("<!doctype html><html><body>not an image</body></html>"),
	}
	dir := t.TempDir()
	for key, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

type signedLine struct {
	Key, URL, Srcset, V, Placeholder, Error string
	Width, Height                           int
}

func parseBatch(t *testing.T, out string) []signedLine {
	t.Helper()
	var lines []signedLine
	for l := range strings.Lines(out) {
		var b signedLine
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatalf("bad output line %q: %v", l, err)
		}
		lines = append(lines, b)
	}
	return lines
}

// The width and height sign promises are those of the image the server
// makes for the URL: every line's URL is transformed by internal/transform
// (libvips, as serve does) and the output measured.
func TestSignFromOriginPromisesTheServersSize(t *testing.T) {
	dir, files := originals(t)
	var in strings.Builder
	cases := []string{
		`"params":{"w":300}`, `"params":{"w":1000}`, `"params":{"w":1000,"enlarge":1}`,
		`"params":{"h":100}`, `"params":{"w":200,"h":200}`, `"params":{"w":500,"h":500,"fit":"inside"}`,
		`"params":{"w":120,"h":90,"fit":"outside"}`, `"params":{"w":150,"dpr":2}`, `"params":{"w":100,"rot":90}`,
		`"params":{"w":800,"h":450}`, `"params":{}`, `"params":{"w":100},"widths":[50,100,5000]`,
	}
	keys := 0
	for key := range files {
		if strings.HasPrefix(key, "broken/") {
			continue
		}
		keys++
		for _, c := range cases {
			fmt.Fprintf(&in, `{"key":%q,%s}`+"\n", key, c)
		}
	}
	code, out, errOut := run(t, vectorKey, in.String(), "sign", "--batch", "--from-origin", "--origin-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := parseBatch(t, out)
	if len(lines) != keys*len(cases) {
		t.Fatalf("%d lines, want %d", len(lines), keys*len(cases))
	}
	if !transform.Available {
		t.Skip("no libvips to compare with")
	}
	tr, err := transform.New(transform.Config{Workers: 2, Queue: 100, QueueTimeout: time.Minute,
		Limits:   transform.Limits{MaxSourcePixels: 50_000_000, MaxOutputDim: 8192},
		Encoding: transform.Encoding{QualityJPEG: 80, QualityWebP: 80, QualityAVIF: 60, EffortAVIF: 2}})
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, l := range lines {
		if l.Error != "" || l.V == "" {
			t.Fatalf("%+v", l)
		}
		url := l.URL
		if l.Srcset != "" { // the largest candidate
			cands := strings.Split(l.Srcset, ", ")
			url, _, _ = strings.Cut(cands[len(cands)-1], " ")
		}
		w, h := serverSize(t, tr, files[l.Key], url)
		if w != l.Width || h != l.Height {
			t.Errorf("%s: sign says %dx%d, the server makes %dx%d", url, l.Width, l.Height, w, h)
		}
		compared++
	}
	t.Logf("%d URLs over %d originals in 7 formats: every promised size is the server's", compared, keys)
}

// serverSize transforms src for a signed URL as the server would and
// returns the output's size.
func serverSize(t *testing.T, tr *transform.Transformer, src []byte, url string) (int, int) {
	t.Helper()
	u, err := urlsig.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	o, err := params.Parse(u.Params, params.Limits{MaxOutputDim: 8192})
	if err != nil {
		t.Fatal(err)
	}
	var out transform.Output
	if o.Transform {
		out, err = tr.Transform(context.Background(), src, &o, o.Format)
	} else {
		out, err = tr.Original(context.Background(), src)
		if err == nil && out.Width == 0 {
			back, err2 := tr.Transform(context.Background(), out.Body, &params.Options{DPR: 100, Transform: true}, params.FormatPNG)
			if err2 != nil {
				t.Fatal(err2)
			}
			out.Width, out.Height = back.Width, back.Height
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return out.Width, out.Height
}

// v is a content address: the same bytes give the same v in a directory
// and in S3, in every run; changed bytes change it and nothing else.
func TestSignFromOriginVersion(t *testing.T) {
	dir, files := originals(t)
	sign := func(args ...string) string {
		code, out, errOut := run(t, vectorKey, "", append([]string{"sign", "photos/wide.jpg", "-w", "300", "--from-origin"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		return strings.TrimSpace(out)
	}
	first := sign("--origin-dir", dir)
	if again := sign("--origin-dir", dir); again != first {
		t.Errorf("second run: %s, first %s", again, first)
	}
	v := regexp.MustCompile(`v=([A-Za-z0-9_-]{12})&`).FindStringSubmatch(first)
	if v == nil {
		t.Fatalf("no 12-character v in %s", first)
	}
	// Touched, copied elsewhere: the same content, the same URL.
	copyDir := t.TempDir()
	os.MkdirAll(filepath.Join(copyDir, "photos"), 0o755)
	os.WriteFile(filepath.Join(copyDir, "photos", "wide.jpg"), files["photos/wide.jpg"], 0o600)
	if moved := sign("--origin-dir", copyDir); moved != first {
		t.Errorf("a copy elsewhere: %s, want %s", moved, first)
	}
	// One byte of the original changed (in a JPEG comment): another v.
	changed := testimages.JPEG(testimages.Photo(600, 400))
	changed = append(changed[:len(changed)-2:len(changed)-2], 0xff, 0xfe, 0, 3, 'x', 0xff, 0xd9)
	os.WriteFile(filepath.Join(copyDir, "photos", "wide.jpg"), changed, 0o600)
	if other := sign("--origin-dir", copyDir); other == first || !strings.Contains(other, "w=300") {
		t.Errorf("changed original: %s, want another v than %s", other, first)
	}

	// The same bytes in S3, uploaded in one part, have the same v.
	b := s3test.Bucket(t)
	b.Put(t, "photos/wide.jpg", files["photos/wide.jpg"])
	setS3Env(t, b, b.Endpoint)
	if fromS3 := sign(); fromS3 != first {
		t.Errorf("from S3: %s, from the directory %s", fromS3, first)
	}
}

func setS3Env(t *testing.T, b s3test.Config, endpoint string) {
	t.Setenv("IMGPROXY_ORIGIN_S3_BUCKET", b.Bucket)
	t.Setenv("IMGPROXY_ORIGIN_S3_ENDPOINT", endpoint)
	t.Setenv("IMGPROXY_ORIGIN_S3_REGION", s3test.Region)
	t.Setenv("IMGPROXY_ORIGIN_S3_PATH_STYLE", "true")
	t.Setenv("IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID", b.AccessKey)
	t.Setenv("IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY", b.SecretKey)
}

// From S3 a lookup reads a prefix by range, never the whole object:
// counted on the wire between sign and the server.
func TestSignFromOriginReadsHeadersOnly(t *testing.T) {
	b := s3test.Bucket(t)
	big := testimages.JPEG(testimages.Noisy(2048, 1536))
	turned := testimages.WithOrientation(testimages.JPEG(testimages.Noisy(1600, 1200)), 8)
	b.Put(t, "big.jpg", big)
	b.Put(t, "turned.jpg", turned)
	proxy, meter := s3test.MeteredProxy(t, b.Endpoint)
	setS3Env(t, b, proxy)
	in := `{"key":"big.jpg","params":{"w":400}}` + "\n" + `{"key":"turned.jpg","widths":[300,600,2000]}` + "\n" + `{"key":"missing.jpg"}` + "\n"
	code, out, errOut := run(t, vectorKey, in, "sign", "--batch", "--from-origin")
	lines := parseBatch(t, out)
	if code != 1 || len(lines) != 3 || !strings.Contains(errOut, "1 line(s) failed") {
		t.Fatalf("exit %d, %d lines, %s", code, len(lines), errOut)
	}
	if l := lines[0]; l.Width != 400 || l.Height != 300 {
		t.Errorf("big.jpg: %+v, want 400x300", l)
	}
	if l := lines[1]; l.Width != 1200 || l.Height != 1600 || !strings.HasSuffix(l.Srcset, " 1200w") {
		t.Errorf("turned.jpg (orientation 8): %+v, want 1200x1600 as the largest candidate", l)
	}
	if l := lines[2]; !strings.Contains(l.Error, "not found") || !strings.Contains(l.Error, "missing.jpg") {
		t.Errorf("missing.jpg: %+v", l)
	}
	total := int64(len(big) + len(turned))
	t.Logf("%d object GETs, ranges %q: %d bytes of %d", meter.Gets(), meter.Ranges(), meter.Bytes(), total)
	for _, r := range meter.Ranges() {
		if !strings.HasPrefix(r, "bytes=") {
			t.Errorf("a GET without Range: %q", r)
		}
	}
	// One 64 KiB prefix per original, and the 404's few hundred bytes.
	if meter.Bytes() > 2*64<<10+1<<10 || meter.Gets() != 3 {
		t.Errorf("read %d bytes in %d GETs for 2 headers and a miss; want about 128 KiB in 3", meter.Bytes(), meter.Gets())
	}
}

// A missing, cut or non-image original is its line's error; an origin
// that does not answer is one error for the whole batch, at once.
func TestSignFromOriginErrors(t *testing.T) {
	dir, _ := originals(t)
	in := `{"key":"photos/wide.jpg","params":{"w":100}}` + "\n" + `{"key":"broken/cut.jpg"}` + "\n" +
		`{"key":"broken/page.html"}` + "\n" + `{"key":"nowhere.jpg"}` + "\n" + `{"key":"photos/wide.jpg","params":{"v":"x"}}` + "\n" +
		`{"key":"photos/wide.jpg","params":{"w":"0"}}` + "\n"
	code, out, errOut := run(t, vectorKey, in, "sign", "--batch", "--from-origin", "--origin-dir", dir)
	lines := parseBatch(t, out)
	if code != 1 || len(lines) != 6 || lines[0].Error != "" || !strings.Contains(errOut, "5 line(s) failed") {
		t.Fatalf("exit %d, %q, %s", code, out, errOut)
	}
	for i, want := range []string{"", `"broken/cut.jpg": image is truncated`, `"broken/page.html": not an image`, "not found", `"v" is the original's version`, "invalid parameter w"} {
		if !strings.Contains(lines[i].Error, want) || !strings.Contains(lines[i].Error, fmt.Sprintf("line %d", i+1)) && want != "" {
			t.Errorf("line %d: %q, want %q", i+1, lines[i].Error, want)
		}
	}

	// No origin answers on this port: one error, no lines, quickly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	setS3Env(t, s3test.Config{Bucket: "no-such-bucket", AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMIEXAMPLEKEY"}, dead)
	t.Setenv("IMGPROXY_ORIGIN_TIMEOUT", "2s")
	var many strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&many, `{"key":"photos/%d.jpg","params":{"w":100}}`+"\n", i)
	}
	start := time.Now()
	code, out, errOut = run(t, vectorKey, many.String(), "sign", "--batch", "--from-origin")
	t.Logf("%s: %s", time.Since(start).Round(time.Millisecond), errOut)
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "the origin failed; stopped at line 1 ") ||
		!strings.Contains(errOut, "connection refused") || time.Since(start) > 20*time.Second {
		t.Errorf("unreachable origin: exit %d, %d bytes out, %q", code, len(out), errOut)
	}
	for _, secret := range []string{dead, ln.Addr().String()} {
		if strings.Contains(errOut, secret) {
			t.Errorf("the error names the endpoint: %q", errOut)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sign", "a.jpg", "--from-origin"}, "no origin configured"},
		{[]string{"sign", "a.jpg", "--placeholder"}, "need --from-origin"},
		{[]string{"sign", "a.jpg", "--from-origin", "--origin-dir", dir, "--v", "x"}, "drop --v"},
		{[]string{"sign", "nowhere.jpg", "--from-origin", "--origin-dir", dir}, `original not found: "nowhere.jpg"`},
		{[]string{"sign", "a.jpg", "--from-origin", "--origin-dir", dir, "--concurrency", "0"}, "want 1 to 256"},
	} {
		t.Setenv("IMGPROXY_ORIGIN_S3_BUCKET", "")
		code, _, errOut := run(t, vectorKey, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, errOut, c.want)
		}
	}
}

// Markup gets the size the server returns, also with -w alone, and never
// more than the original without enlarge.
func TestSignFromOriginPicture(t *testing.T) {
	dir, _ := originals(t)
	code, out, errOut := run(t, vectorKey, "", "sign", "photos/turned.jpg", "-w", "800", "--widths", "200,400,800,1600", "--picture", "--from-origin", "--origin-dir", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	// 400x600 as shown: the 800 and 1600 candidates are the original's 400.
	for _, want := range []string{` 200w, `, ` 400w"`, `width="400" height="600"`, `sizes="(max-width: 400px) 100vw, 400px"`} {
		if !strings.Contains(out, want) {
			t.Errorf("want %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, "800w") || strings.Contains(out, "1600w") {
		t.Errorf("a candidate promises more than the original:\n%s", out)
	}
	code, out, _ = run(t, vectorKey, "", "sign", "photos/wide.jpg", "-w", "300", "--dpr", "2", "--picture", "--from-origin", "--origin-dir", dir)
	if code != 0 || !strings.Contains(out, ` 600w"`) || !strings.Contains(out, `width="300" height="200"`) {
		t.Errorf("-w 300 --dpr 2 of 600x400:\n%s", out)
	}
}

// A placeholder is a few hundred bytes, has the image's aspect ratio and
// its colours: decoded by the vips command-line tool, not by the code
// that made it.
func TestSignPlaceholder(t *testing.T) {
	dir, files := originals(t)
	if !transform.Available {
		code, _, errOut := run(t, vectorKey, "", "sign", "photos/wide.jpg", "--from-origin", "--origin-dir", dir, "--placeholder")
		if code != 1 || !strings.Contains(errOut, "without it (CGO_ENABLED=0)") {
			t.Fatalf("exit %d, %q", code, errOut)
		}
		return
	}
	in := ""
	keys := []string{"photos/quadrants.png", "photos/tall.png", "photos/wide.jpg", "photos/turned.jpg", "photos/photo.heic", "photos/alpha.webp"}
	for _, k := range keys {
		in += fmt.Sprintf(`{"key":%q,"params":{"w":100}}`+"\n", k)
	}
	code, out, errOut := run(t, vectorKey, in, "sign", "--batch", "--from-origin", "--origin-dir", dir, "--placeholder")
	if code != 0 {
		t.Fatal(errOut)
	}
	for i, l := range parseBatch(t, out) {
		img := decodeDataURI(t, l.Placeholder)
		src := decodeWithVips(t, files[keys[i]])
		pw, ph := img.Bounds().Dx(), img.Bounds().Dy()
		sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
		t.Logf("%s: %dx%d, placeholder %dx%d in %d bytes of data URI", keys[i], sw, sh, pw, ph, len(l.Placeholder))
		if len(l.Placeholder) > placeholderMax {
			t.Errorf("%s: %d bytes, more than %d", keys[i], len(l.Placeholder), placeholderMax)
		}
		if max(pw, ph) != min(16, max(sw, sh)) {
			t.Errorf("%s: %dx%d, want 16 on the long side", keys[i], pw, ph)
		}
		// The aspect ratio, to the rounding of a 16-pixel side.
		if d := float64(pw)/float64(ph) - float64(sw)/float64(sh); d*d > 0.3*0.3*float64(sw*sw)/float64(sh*sh) {
			t.Errorf("%s: aspect %dx%d, the original's %dx%d", keys[i], pw, ph, sw, sh)
		}
		// The colours: the mean within 12 levels of the original's, and,
		// for the pictures of four coloured quarters, each quarter nearer
		// the same quarter of the original than any other, so that the
		// layout is recognisable.
		if a, b := regionMean(img, 0, 1), regionMean(src, 0, 1); dist(a, b) > 12 {
			t.Errorf("%s: mean colour %v, the original's %v", keys[i], a, b)
		}
		for q := range 4 {
			if !strings.HasSuffix(keys[i], ".png") {
				break
			}
			a := regionMean(img, q, 2)
			for other := range 4 {
				if d, own := dist(a, regionMean(src, other, 2)), dist(a, regionMean(src, q, 2)); other != q && d < own {
					t.Errorf("%s: quarter %d (%v) looks more like the original's quarter %d", keys[i], q, a, other)
				}
			}
		}
	}
	// A single URL prints its placeholder on a second line; markup carries
	// it in the <img>'s style.
	code, out, _ = run(t, vectorKey, "", "sign", "photos/wide.jpg", "-w", "300", "--picture", "--from-origin", "--origin-dir", dir, "--placeholder")
	if code != 0 || !strings.Contains(out, `style="background-size:cover;background-position:center;background-image:url(data:image/webp;base64,`) {
		t.Errorf("picture: %s", out)
	}
	code, out, _ = run(t, vectorKey, "", "sign", "photos/wide.jpg", "-w", "300", "--from-origin", "--origin-dir", dir, "--placeholder")
	if ls := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(ls) != 2 || !strings.HasPrefix(ls[1], "data:image/webp;base64,") {
		t.Errorf("single URL: %q", out)
	}
}

// regionMean is the mean colour of the opaque pixels of region q of a
// split x split grid.
func regionMean(img image.Image, q, split int) [3]float64 {
	b := img.Bounds()
	x0, y0 := b.Min.X+q%split*b.Dx()/split, b.Min.Y+q/split*b.Dy()/split
	var sum [3]float64
	n := 0.0
	for y := y0; y < y0+max(1, b.Dy()/split); y++ {
		for x := x0; x < x0+max(1, b.Dx()/split); x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.A < 128 {
				continue
			}
			sum[0], sum[1], sum[2], n = sum[0]+float64(c.R), sum[1]+float64(c.G), sum[2]+float64(c.B), n+1
		}
	}
	if n == 0 {
		return sum
	}
	return [3]float64{sum[0] / n, sum[1] / n, sum[2] / n}
}

func dist(a, b [3]float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, a[i]-b[i], b[i]-a[i])
	}
	return d
}

// decodeDataURI decodes a base64 data: URI's image with the vips tool.
func decodeDataURI(t *testing.T, uri string) image.Image {
	t.Helper()
	b64, ok := strings.CutPrefix(uri, "data:image/webp;base64,")
	if !ok {
		t.Fatalf("not a WebP data URI: %.40q", uri)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return decodeWithVips(t, b)
}

// decodeWithVips decodes an image, turned upright, with the vips tool.
func decodeWithVips(t *testing.T, b []byte) image.Image {
	t.Helper()
	if _, err := exec.LookPath("vips"); err != nil {
		t.Skip("no vips command")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.png")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command("vips", "autorot", in, out).CombinedOutput(); err != nil {
		t.Fatalf("vips autorot: %v: %s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
