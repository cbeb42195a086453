package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/devimages"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// devWorkspace is what `serve --dev` makes up for what is not configured:
// a throwaway key (in a key file, so that `sign --key-file` can mint more
// URLs for this run) and a directory of sample images. It is removed when
// the server stops.
type devWorkspace struct {
	dir     string
	keyFile string   // "" when the configuration had keys
	samples []string // nil when the configuration had an origin
}

func newDevWorkspace(cfg *config.Config, out io.Writer) (*devWorkspace, error) {
	dir, err := os.MkdirTemp("", "imgproxy-dev-")
	if err != nil {
		return nil, err
	}
	ws := &devWorkspace{dir: dir}
	if len(cfg.Signing.Keys) == 0 {
		key := make([]byte, urlsig.MinKeyBytes)
		if _, err := rand.Read(key); err != nil {
			ws.remove()
			return nil, err
		}
		ws.keyFile = filepath.Join(dir, "signing.key")
		if err := os.WriteFile(ws.keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			ws.remove()
			return nil, err
		}
		cfg.Signing.Keys = [][]byte{key}
		fmt.Fprintln(out, "development mode: signing with a throwaway key; URLs stop working when the server stops")
	}
	if cfg.Origin.Dir == "" && cfg.Origin.S3.Bucket == "" {
		images := filepath.Join(dir, "images")
		if err := os.Mkdir(images, 0o755); err != nil {
			ws.remove()
			return nil, err
		}
		if err := devimages.WriteTo(images); err != nil {
			ws.remove()
			return nil, err
		}
		cfg.Origin.Dir = images
		ws.samples = devimages.Names()
		fmt.Fprintf(out, "development mode: serving sample images %v from %s\n", ws.samples, images)
	}
	return ws, nil
}

func (ws *devWorkspace) remove() { os.RemoveAll(ws.dir) }

// printExamples prints URLs that work right now: the original, a resized
// WebP, and <picture> markup, for a sample image or, with the user's own
// origin, for an image listed from it (a made-up key would be a 404).
func printExamples(ctx context.Context, w io.Writer, s *sign.Signer, ws *devWorkspace, src origin.Origin) {
	var key string
	if ws != nil && len(ws.samples) > 0 {
		key = ws.samples[len(ws.samples)-1]
	} else {
		var why string
		if key, why = exampleKey(ctx, s, src); key == "" {
			fmt.Fprintf(w, "\nno example URLs: %s; mint one with: imgproxy sign KEY -w 400 --fm webp\n", why)
			return
		}
	}
	plain, _ := s.URL(key, nil)
	webp, _ := s.URL(key, []urlsig.Param{{Name: "fm", Value: "webp"}, {Name: "w", Value: "400"}})
	pic, _ := s.Picture(key, []urlsig.Param{{Name: "w", Value: "600"}},
		sign.PictureOptions{Widths: []int{300, 600}, Sizes: "(max-width: 600px) 100vw, 600px", Alt: "sample"})
	fmt.Fprintf(w, "\nthe original, unmodified:\n  %s\n400 pixels wide, as WebP:\n  %s\n<picture> markup:\n%s", plain, webp, pic)
	if ws != nil && ws.keyFile != "" {
		fmt.Fprintf(w, "mint more for this run: imgproxy sign --key-file %s --base-url %s KEY -w 400 --fm webp\n", ws.keyFile, s.BaseURL)
	}
}

// exampleListing is how many keys of the user's origin are looked at for
// an example image: one listing request.
const exampleListing = 100

// exampleKey picks an image from the first keys the origin lists, by its
// extension; "" and the reason when there is none.
func exampleKey(ctx context.Context, s *sign.Signer, src origin.Origin) (key, why string) {
	l, ok := src.(origin.Lister)
	if !ok {
		return "", "the origin cannot be listed"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	keys, err := l.List(ctx, exampleListing)
	if err != nil {
		return "", fmt.Sprintf("listing the origin failed (%v)", err)
	}
	for _, k := range keys {
		if _, err := s.URL(k, nil); err == nil && imageExtensions[strings.ToLower(path.Ext(k))] {
			return k, ""
		}
	}
	return "", fmt.Sprintf("no image among the first %d objects of the origin", len(keys))
}

// imageExtensions are the names of the formats the server reads.
var imageExtensions = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".avif": true, ".tif": true, ".tiff": true,
}
