// Package testtools finds the independent readers tests check the product
// with: exiftool for metadata and the libvips command line for sizes and
// pixels. A check that asks our own code about its output proves little.
// It is imported by tests only.
package testtools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// EnvRequired set to "1" (scripts/test.sh does) makes a missing tool fail
// the test instead of skipping it.
const EnvRequired = "IMGPROXY_TEST_TOOLS_REQUIRED"

// Path returns the path of the named program, skipping the test (failing
// it under EnvRequired) when it is not installed.
func Path(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("%s not found (Debian package %s): %v", name, pkg, err)
		}
		t.Skipf("%s not found: run scripts/test.sh, which installs %s", name, pkg)
	}
	return p
}

// File returns path, a data file a Debian package installs (a colour
// profile), skipping the test (failing it under EnvRequired) when it is
// not there.
func File(t testing.TB, path, pkg string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("%s not found (Debian package %s): %v", path, pkg, err)
		}
		t.Skipf("%s not found: run scripts/test.sh, which installs %s", path, pkg)
	}
	return path
}

// Exiftool returns exiftool's path.
func Exiftool(t testing.TB) string { return Path(t, "exiftool", "libimage-exiftool-perl") }

// Run runs a program and returns its standard output, failing the test with
// its standard error when it exits non-zero.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// Tags returns every tag exiftool reads from each file, duplicates and
// groups included ("GPS:GPSLatitude", "XMP-dc:Creator"), in order.
func Tags(t testing.TB, files ...string) []map[string]any {
	t.Helper()
	args := append([]string{"-j", "-a", "-G1", "-m", "-q"}, files...)
	out := Run(t, Exiftool(t), args...)
	var tags []map[string]any
	if err := json.Unmarshal(out, &tags); err != nil {
		t.Fatalf("exiftool output: %v\n%s", err, out)
	}
	if len(tags) != len(files) {
		t.Fatalf("exiftool read %d of %d files", len(tags), len(files))
	}
	return tags
}

// WriteFiles writes each body to a file in a new temporary directory and
// returns their paths, in order.
func WriteFiles(t testing.TB, bodies ...[]byte) []string {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, len(bodies))
	for i, b := range bodies {
		paths[i] = filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(paths[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// Sizes returns each file's width and height as libvips' vipsheader reads
// them, in order.
func Sizes(t testing.TB, files ...string) [][2]int {
	t.Helper()
	out := Run(t, Path(t, "vipsheader", "libvips-tools"), files...)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("vipsheader printed %d lines for %d files:\n%s", len(lines), len(files), out)
	}
	sizes := make([][2]int, len(files))
	for i, line := range lines {
		// "name: 120x80 uchar, 3 bands, srgb, jpegload"
		_, rest, _ := strings.Cut(line, ": ")
		if _, err := fmt.Sscanf(rest, "%dx%d", &sizes[i][0], &sizes[i][1]); err != nil {
			t.Fatalf("vipsheader: %q: %v", line, err)
		}
	}
	return sizes
}
