// Package devimages holds the sample originals that `imgproxy serve --dev`
// serves when no origin is configured: two photographs from the Kodak
// suite (released for unrestricted use) and a badge with transparency.
package devimages

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed *.jpg *.png
var files embed.FS

// Names lists the sample object keys.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// WriteTo copies the samples into dir, which must exist.
func WriteTo(dir string) error {
	for _, name := range Names() {
		b, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
