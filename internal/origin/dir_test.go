package origin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/origintest"
)

// writeFiles writes objects under dir, key = slash-separated relative path.
func writeFiles(t testing.TB, dir string, objects map[string][]byte) {
	t.Helper()
	for key, body := range objects {
		path := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newDir(t testing.TB, dir string, maxBytes int64) *origin.Dir {
	t.Helper()
	d, err := origin.NewDir(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDirConformance(t *testing.T) {
	origintest.Run(t, func(t *testing.T, objects map[string][]byte, maxBytes int64) origin.Origin {
		dir := t.TempDir()
		writeFiles(t, dir, objects)
		return newDir(t, dir, maxBytes)
	})
}

// The directory's parent holds a secret; symlinks inside the directory point
// at it. os.Root must refuse every way out.
func TestDirSymlinksDoNotEscape(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	writeFiles(t, parent, map[string][]byte{
		"secret.jpg":      []byte("secret"),
		"other/photo.jpg": []byte("outside"),
		"root/inside.jpg": []byte("inside"),
	})
	for link, target := range map[string]string{
		"file-link.jpg": "../secret.jpg",
		"abs-link.jpg":  filepath.Join(parent, "secret.jpg"),
		"dir-link":      "../other",
		"loop.jpg":      "loop.jpg",
		"ok-link.jpg":   "inside.jpg",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	d := newDir(t, root, 1024)

	for _, key := range []string{"file-link.jpg", "abs-link.jpg", "dir-link/photo.jpg", "loop.jpg"} {
		obj, err := d.Fetch(context.Background(), key)
		if !errors.Is(err, origin.ErrNotFound) || obj != nil {
			t.Errorf("%q: got %v, %v; want ErrNotFound", key, obj, err)
		}
	}
	// A symlink that stays inside the directory is followed.
	obj, err := d.Fetch(context.Background(), "ok-link.jpg")
	if err != nil || string(obj.Body) != "inside" {
		t.Errorf("ok-link.jpg: got %v, %v; want the linked file", obj, err)
	}
}

// Rewriting a file with other bytes of the same size changes its ETag, as
// long as the modification time moves.
func TestDirETagFollowsRewrite(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a.jpg": []byte("first")})
	d := newDir(t, dir, 1024)
	before, err := d.Fetch(context.Background(), "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{"a.jpg": []byte("other")})
	later := before.LastModified.Add(time.Millisecond)
	if err := os.Chtimes(filepath.Join(dir, "a.jpg"), later, later); err != nil {
		t.Fatal(err)
	}
	after, err := d.Fetch(context.Background(), "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if after.ETag == before.ETag || string(after.Body) != "other" {
		t.Errorf("after a rewrite: ETag %s (was %s), body %q", after.ETag, before.ETag, after.Body)
	}
	if !after.LastModified.Equal(later) {
		t.Errorf("LastModified %v, want %v", after.LastModified, later)
	}
}

// Only regular files are originals; a FIFO must not even block the open.
func TestDirRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.jpg"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := newDir(t, dir, 1024)
	for _, key := range []string{"fifo.jpg", "sub.jpg"} {
		done := make(chan error, 1)
		go func() {
			_, err := d.Fetch(context.Background(), key)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, origin.ErrNotFound) {
				t.Errorf("%q: got %v, want ErrNotFound", key, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: Fetch blocked", key)
		}
	}
}

func TestNewDirErrors(t *testing.T) {
	if _, err := origin.NewDir(filepath.Join(t.TempDir(), "missing"), 1024); err == nil {
		t.Error("NewDir of a missing directory: no error")
	}
	if _, err := origin.NewDir(t.TempDir(), 0); err == nil {
		t.Error("NewDir with max bytes 0: no error")
	}
}
