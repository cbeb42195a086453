package origin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// List finds regular files in subdirectories, never symlinks or
// directories, and stops at the number asked for.
func TestDirList(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a/b/c.jpg": []byte("c"), "d.png": []byte("d")})
	if err := os.Symlink("d.png", filepath.Join(dir, "link.png")); err != nil {
		t.Fatal(err)
	}
	d := newDir(t, dir, 1024)
	keys, err := d.List(context.Background(), 10)
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"a/b/c.jpg", "d.png"}) {
		t.Errorf("List: %q, %v", keys, err)
	}
	if keys, err := d.List(context.Background(), 1); err != nil || len(keys) != 1 {
		t.Errorf("List 1: %q, %v", keys, err)
	}
	if err := origin.Check(context.Background(), newDir(t, t.TempDir(), 1024)); err != nil {
		t.Errorf("an empty directory fails the check: %v", err)
	}
}

// The check fails on a directory the server cannot read.
func TestDirCheckUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	dir := t.TempDir()
	d := newDir(t, dir, 1024)
	if err := os.Chmod(dir, 0o300); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if err := origin.Check(context.Background(), d); !errors.Is(err, origin.ErrFailed) {
		t.Errorf("check of an unreadable directory: %v", err)
	}
}

// An absolute symlink is refused even when it points inside the directory
// (os.Root resolves only relative names), and the error tells the operator
// which link it is and how to fix it; a relative link to the same file is
// served.
func TestDirAbsoluteSymlinkInside(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"photos/cat.jpg": []byte("cat")})
	if err := os.Symlink(filepath.Join(dir, "photos", "cat.jpg"), filepath.Join(dir, "abs.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "photos"), filepath.Join(dir, "absdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("photos/cat.jpg", filepath.Join(dir, "rel.jpg")); err != nil {
		t.Fatal(err)
	}
	d := newDir(t, dir, 1024)
	for key, link := range map[string]string{"abs.jpg": "abs.jpg", "absdir/cat.jpg": "absdir"} {
		obj, err := d.Fetch(context.Background(), key)
		if !errors.Is(err, origin.ErrNotFound) || obj != nil {
			t.Fatalf("%s: got %v, %v; want ErrNotFound", key, obj, err)
		}
		if !strings.Contains(err.Error(), `"`+link+`" is a symlink to the absolute path`) || !strings.Contains(err.Error(), "ln -sr") {
			t.Errorf("%s: error %q does not explain the absolute symlink", key, err)
		}
	}
	if obj, err := d.Fetch(context.Background(), "rel.jpg"); err != nil || string(obj.Body) != "cat" {
		t.Errorf("relative symlink: %v, %v", obj, err)
	}
}
