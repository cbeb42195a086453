//go:build cgo

package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// The static-site workflow end to end, with a real site generator, a real
// browser and a real S3-compatible server: the example Eleventy site
// (scripts/site-example) is built against `imgproxy serve` on versitygw,
// its images looked up by `imgproxy sign --batch --from-origin
// --placeholder`; `imgproxy warm` requests every URL once (one full GET of
// each original at most) and a second run finds them all cached; headless
// Chromium shows the page with every image decoded, AVIF chosen from each
// <picture>, and no layout shift; replacing one original changes that
// image's URLs and no other.
func TestSiteExampleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("installs Eleventy and runs Chromium")
	}
	node, npm := requireTool(t, "node"), requireTool(t, "npm")
	chromium := findChromium(t)
	b := s3test.Bucket(t)
	start := time.Now()

	originals := map[string][]byte{
		"photos/harbour.jpg": testimages.JPEG(testimages.Photo(1200, 800)),
		"photos/tower.jpg":   testimages.WithOrientation(testimages.JPEG(testimages.Photo(900, 600)), 6), // shown 600x900
		"photos/chart.png":   testimages.PNG(testimages.Quadrants(700, 400)),                             // narrower than its 960w candidate
	}
	for key, body := range originals {
		b.Put(t, key, body)
	}
	proxy, gets := objectGetLog(t, b.Endpoint)
	site := copySiteExample(t)
	eleventy := installEleventy(t, npm, site)
	t.Logf("set up in %s", time.Since(start).Round(time.Millisecond))

	via := b
	via.Endpoint = proxy
	srv := startServing(t, s3Env(via, b.Bucket))
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", srv.base)
	t.Setenv("PATH", imgproxyOnPath(t)+string(os.PathListSeparator)+os.Getenv("PATH"))

	build := func() map[string][]string {
		t.Helper()
		for _, argv := range [][]string{{node, "images.mjs"}, {node, eleventy}} {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = site
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", filepath.Base(argv[1]), err, out)
			}
		}
		return pageURLs(t, filepath.Join(site, "_site", "index.html"), srv.base)
	}
	before := build()
	t.Logf("built in %s", time.Since(start).Round(time.Millisecond))
	unique := 0
	for key := range originals {
		if len(before[key]) == 0 {
			t.Fatalf("the page has no URL of %s", key)
		}
		unique += len(before[key])
	}

	// Warming: every URL once, each original fetched whole at most once
	// (the ranged reads of sign --from-origin came before).
	fetched := len(gets())
	out, err := runWarmCmd(context.Background(), filepath.Join(site, "_site"), "--base-url", srv.base)
	if err != nil || !strings.Contains(out, fmt.Sprintf("warmed %d of %d URLs", unique, unique)) ||
		!strings.Contains(out, fmt.Sprintf("status: 200 ×%d\n", unique)) {
		t.Fatalf("first warm (%v), want %d URLs all 200:\n%s", err, unique, out)
	}
	whole := map[string]int{}
	for _, g := range gets()[fetched:] {
		if g.rng == "" {
			whole[g.key]++
		}
	}
	for key, n := range whole {
		if n > 1 {
			t.Errorf("warming fetched %s whole %d times, want once", key, n)
		}
	}
	out, err = runWarmCmd(context.Background(), filepath.Join(site, "_site"), "--base-url", srv.base)
	if err != nil || !strings.Contains(out, fmt.Sprintf("cache:  memory ×%d\n", unique)) {
		t.Fatalf("second warm (%v), want %d memory hits:\n%s", err, unique, out)
	}
	t.Logf("warmed %d URLs of %d originals (%d whole GETs) by %s", unique, len(originals), len(whole), time.Since(start).Round(time.Millisecond))

	checkPageInChromium(t, chromium, filepath.Join(site, "_site"))
	t.Logf("checked in Chromium by %s", time.Since(start).Round(time.Millisecond))

	// A new original under the same key: new URLs for it, the same for the others.
	b.Put(t, "photos/tower.jpg", testimages.JPEG(testimages.Quadrants(600, 900)))
	after := build()
	for key := range originals {
		same := slices.Equal(before[key], after[key])
		shared := slices.ContainsFunc(after[key], func(u string) bool { return slices.Contains(before[key], u) })
		switch {
		case key == "photos/tower.jpg" && (shared || len(after[key]) == 0):
			t.Errorf("%s was replaced, but its URLs did not all change:\nbefore %q\nafter  %q", key, before[key], after[key])
		case key != "photos/tower.jpg" && !same:
			t.Errorf("%s did not change, but its URLs did:\nbefore %q\nafter  %q", key, before[key], after[key])
		}
	}
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}

// TestHelperImgproxy is not a test: the site's build step runs this test
// binary as the imgproxy command (see imgproxyOnPath).
func TestHelperImgproxy(t *testing.T) {
	if os.Getenv("IMGPROXY_TEST_HELPER") != "imgproxy" {
		t.Skip("helper process for TestSiteExampleEndToEnd")
	}
	os.Exit(Main(flag.Args(), os.Stdin, os.Stdout, os.Stderr))
}

// imgproxyOnPath returns a directory holding an `imgproxy` command that is
// this test binary running Main, so the site's build step runs the CLI
// under test without a separate (cgo) build.
func imgproxyOnPath(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nIMGPROXY_TEST_HELPER=imgproxy exec '" + self + "' '-test.run=^TestHelperImgproxy$' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "imgproxy"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func requireTool(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("IMGPROXY_TEST_TOOLS_REQUIRED") != "" {
		t.Fatalf("%s is not installed (scripts/test.sh installs it)", name)
	}
	t.Skipf("%s is not installed; scripts/test.sh installs it", name)
	return ""
}

// copySiteExample copies scripts/site-example (without what a build
// leaves) into a temporary folder, with the signer beside it as in the
// repository, and returns the site's folder.
func copySiteExample(t *testing.T) string {
	root := t.TempDir()
	for _, f := range []string{"sign.mjs", "imgproxy-url.mjs"} {
		copyFile(t, filepath.Join("..", "..", "scripts", f), filepath.Join(root, f))
	}
	src := filepath.Join("..", "..", "scripts", "site-example")
	site := filepath.Join(root, "site-example")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case d.IsDir() && (d.Name() == "node_modules" || d.Name() == "_site"):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(site, rel), 0o755)
		case rel == filepath.Join("src", "_data", "images.json"):
			return nil
		}
		copyFile(t, p, filepath.Join(site, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return site
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// installEleventy installs the site's pinned Eleventy (package-lock.json,
// with npm ci) into a cache folder outside the repository, keyed by the
// version and the lock file, and returns the path of its command line.
// Reruns find it there; an interrupted install leaves only a temporary
// folder, which the next run does not use.
func installEleventy(t *testing.T, npm, site string) string {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	data, err := os.ReadFile(filepath.Join(site, "package.json"))
	if err == nil {
		err = json.Unmarshal(data, &pkg)
	}
	version := pkg.DevDependencies["@11ty/eleventy"]
	lock, lockErr := os.ReadFile(filepath.Join(site, "package-lock.json"))
	if err != nil || lockErr != nil || version == "" {
		t.Fatalf("scripts/site-example: package.json (%v) must pin @11ty/eleventy, with package-lock.json (%v)", err, lockErr)
	}
	cache, err := os.UserCacheDir() // $XDG_CACHE_HOME, else ~/.cache
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(lock)
	dir := filepath.Join(cache, "imgproxy-test", "eleventy-"+version+"-"+hex.EncodeToString(sum[:6]))
	cli := filepath.Join(dir, "node_modules", "@11ty", "eleventy", "cmd.cjs")
	if _, err := os.Stat(cli); err == nil {
		return cli
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".installing-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	copyFile(t, filepath.Join(site, "package.json"), filepath.Join(tmp, "package.json"))
	copyFile(t, filepath.Join(site, "package-lock.json"), filepath.Join(tmp, "package-lock.json"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("IMGPROXY_TEST_TOOLS_REQUIRED") == "" {
			t.Skipf("npm ci of Eleventy %s failed (offline?): %v\n%s", version, err, out)
		}
		t.Fatalf("npm ci of Eleventy %s: %v\n%s", version, err, out)
	}
	// Another run may have finished first: its copy is as good.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(cli); statErr != nil {
			t.Fatal(err)
		}
	}
	return cli
}

type objectGet struct{ key, rng string }

// objectGetLog is a proxy in front of the path-style S3 endpoint that
// records every object GET with its Range header; it returns the proxy's
// endpoint and the log so far.
func objectGetLog(t *testing.T, endpoint string) (string, func() []objectGet) {
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []objectGet
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // signed for the proxy's host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); ok && key != "" && r.Method == http.MethodGet {
			mu.Lock()
			log = append(log, objectGet{key, r.Header.Get("Range")})
			mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []objectGet {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log)
	}
}

var attrURLs = regexp.MustCompile(`\s(?:src|srcset)="([^"]*)"`)

// pageURLs returns the image URLs of a built page under base, by object
// key, sorted and each once.
func pageURLs(t *testing.T, page, base string) map[string][]string {
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]string{}
	for _, m := range attrURLs.FindAllStringSubmatch(string(b), -1) {
		for cand := range strings.SplitSeq(html.UnescapeString(m[1]), ",") {
			u, _, _ := strings.Cut(strings.TrimSpace(cand), " ")
			if !strings.HasPrefix(u, base+"/") {
				continue
			}
			p, err := url.Parse(u)
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			key := strings.TrimPrefix(p.Path, "/")
			if !slices.Contains(byKey[key], u) {
				byKey[key] = append(byKey[key], u)
			}
		}
	}
	for _, us := range byKey {
		slices.Sort(us)
	}
	return byKey
}

type shownImg struct {
	Src                         string
	CurrentSrc                  string
	NaturalWidth, NaturalHeight float64
	AttrWidth, AttrHeight       string
	Width, Height               float64
	Placeholder                 bool
}

type shownPage struct {
	Images []shownImg
	Shift  float64 // cumulative layout shift
}

// checkPageInChromium serves the built site on loopback and opens it in
// headless Chromium: every image decoded, AVIF chosen, the box of each
// <img> known before it loaded (its width and height attributes give the
// drawn aspect, and nothing on the page shifted).
func checkPageInChromium(t *testing.T, chromium, dir string) {
	// The same page without the img's width and height: a control, to
	// show that the shift would be seen.
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	unsized := regexp.MustCompile(` width="\d+" height="\d+"`).ReplaceAll(index, nil)
	files := http.FileServer(http.Dir(dir))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/unsized.html" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(unsized)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	br := launchChromium(t, chromium)
	control := br.showPage(t, ts.URL+"/unsized.html")
	if control.Shift == 0 {
		t.Errorf("without width and height the layout did not shift: the measure sees nothing")
	}
	got := br.showPage(t, ts.URL+"/")
	if len(got.Images) != 3 {
		t.Fatalf("%d images on the page, want 3", len(got.Images))
	}
	for _, i := range got.Images {
		u, err := url.Parse(i.CurrentSrc)
		switch {
		case i.NaturalWidth == 0:
			t.Errorf("%s did not decode", i.Src)
		case err != nil || u.Query().Get("fm") != "avif":
			t.Errorf("%s: the browser chose %s, want the AVIF source", i.Src, i.CurrentSrc)
		}
		var aw, ah float64
		if _, err := fmt.Sscan(i.AttrWidth, &aw); err != nil {
			t.Errorf("%s: width attribute %q", i.Src, i.AttrWidth)
			continue
		}
		if _, err := fmt.Sscan(i.AttrHeight, &ah); err != nil {
			t.Errorf("%s: height attribute %q", i.Src, i.AttrHeight)
			continue
		}
		// The attributes are the drawn size (the column is wide enough),
		// and the image's real aspect.
		if i.Width != aw || math.Abs(i.Height-ah) > 0.5 || math.Abs(i.NaturalHeight*aw/i.NaturalWidth-ah) > 1 {
			t.Errorf("%s: attributes %gx%g, drawn %gx%g, image %gx%g", i.Src, aw, ah, i.Width, i.Height, i.NaturalWidth, i.NaturalHeight)
		}
		if !i.Placeholder {
			t.Errorf("%s: no placeholder in its style", i.Src)
		}
	}
	if got.Shift != 0 {
		t.Errorf("the layout shifted while the images loaded (CLS %g)", got.Shift)
	}
	t.Logf("layout shift %g (without width and height: %g)", got.Shift, control.Shift)
}

// showPage opens page in a fresh context, 1000 CSS px wide and tall enough
// that no image waits for a scroll, over a network with some latency;
// collects layout shifts from the first paint, waits for every image, and
// measures them.
func (b *cdpBrowser) showPage(t *testing.T, page string) shownPage {
	t.Helper()
	s, done := b.newTab(t, 1000, 3000, 1)
	defer done()
	// Every response a little late, so the page paints before the images
	// arrive, as it does over a real network.
	b.call(t, s, "Network.enable", map[string]any{}, nil)
	b.call(t, s, "Network.emulateNetworkConditions",
		map[string]any{"offline": false, "latency": 150, "downloadThroughput": -1, "uploadThroughput": -1}, nil)
	b.call(t, s, "Page.enable", map[string]any{}, nil)
	b.call(t, s, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `window.__shift = 0;
		new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__shift += e.value; })
			.observe({type: "layout-shift", buffered: true});`}, nil)
	b.call(t, s, "Page.navigate", map[string]any{"url": page}, nil)
	const measure = `(() => {
		const imgs = [...document.querySelectorAll("img")];
		if (document.readyState !== "complete" || imgs.length === 0 || imgs.some((i) => !i.complete)) return "";
		return JSON.stringify({shift: window.__shift, images: imgs.map((i) => {
			const r = i.getBoundingClientRect();
			return {src: i.getAttribute("src"), currentSrc: i.currentSrc, naturalWidth: i.naturalWidth,
				naturalHeight: i.naturalHeight, attrWidth: i.getAttribute("width"), attrHeight: i.getAttribute("height"),
				width: r.width, height: r.height, placeholder: /url\("?data:image\/webp;base64,/.test(i.style.backgroundImage)};
		})});
	})()`
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var res struct {
			Result struct {
				Value string `json:"value"`
			} `json:"result"`
		}
		b.call(t, s, "Runtime.evaluate", map[string]any{"expression": measure, "returnByValue": true}, &res)
		if res.Result.Value != "" {
			var p shownPage
			if err := json.Unmarshal([]byte(res.Result.Value), &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("%s: the images did not load", page)
	return shownPage{}
}
