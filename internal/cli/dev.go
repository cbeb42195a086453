package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/devimages"
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
// WebP, and <picture> markup.
func printExamples(w io.Writer, s *sign.Signer, ws *devWorkspace) {
	key := "photos/cat.jpg" // a placeholder when the configured origin is real
	if ws != nil && len(ws.samples) > 0 {
		key = ws.samples[len(ws.samples)-1]
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
