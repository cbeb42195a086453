package testtools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Planted are the values Plant writes: what a phone and a photographer's
// tools leave in a file. None may reach a client.
var Planted = []string{"SN-LEAK-4242", "Leaky Artist", "Xmp Leaker", "Iptc Leaker", "Comment Leak"}

// PlantedGPS is the position Plant writes, as exiftool prints its latitude.
const PlantedGPS = `48 deg 51' 30.24"`

// Plant returns body with a GPS position, a camera serial number, an
// artist, an XMP creator, a comment and (where the format has it) an IPTC
// by-line written into it by exiftool. ext names the format ("jpg",
// "png", ...). It fails the test unless exiftool reads them all back.
func Plant(t testing.TB, body []byte, ext string) []byte {
	t.Helper()
	return PlantAll(t, map[string][]byte{"src." + ext: body})["src."+ext]
}

// PlantAll is Plant for many files at once, named with their extension:
// exiftool starts in a few hundred milliseconds, so one run for all of
// them keeps a test quick.
func PlantAll(t testing.TB, files map[string][]byte) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	var iptc, other, all []string
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
		if ext := filepath.Ext(name); ext == ".jpg" || ext == ".tif" {
			iptc = append(iptc, p)
		} else {
			other = append(other, p)
		}
	}
	args := []string{"-m", "-q", "-overwrite_original",
		"-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E",
		"-SerialNumber=" + Planted[0], "-Artist=" + Planted[1], "-XMP-dc:Creator=" + Planted[2],
		"-Comment=" + Planted[4]}
	if len(iptc) > 0 {
		Run(t, Exiftool(t), append(append(args, "-IPTC:By-line="+Planted[3]), iptc...)...)
	}
	if len(other) > 0 {
		Run(t, Exiftool(t), append(args, other...)...)
	}
	out := map[string][]byte{}
	for i, tags := range Tags(t, all...) {
		if leaks := Leaks(t, tags); len(leaks) < 4 {
			t.Fatalf("exiftool planted only %v in %s", leaks, filepath.Base(all[i]))
		}
		b, err := os.ReadFile(all[i])
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(all[i])] = b
	}
	return out
}

// Leaks returns the tags of one file (from Tags) that carry a planted
// value or name a kind of metadata no response may have.
func Leaks(t testing.TB, tags map[string]any) []string {
	t.Helper()
	var leaks []string
	for name, v := range tags {
		value, _ := v.(string)
		bad := strings.Contains(value, PlantedGPS)
		for _, p := range Planted {
			bad = bad || strings.Contains(value, p)
		}
		_, tag, _ := strings.Cut(name, ":")
		for _, kind := range []string{"GPS", "Serial", "Artist", "Creator", "By-line", "Comment", "Make", "Model"} {
			bad = bad || strings.Contains(tag, kind)
		}
		if group, _, _ := strings.Cut(name, ":"); group == "GPS" || group == "IPTC" || group == "ExifIFD" ||
			group == "IFD0" || strings.HasPrefix(group, "XMP") || group == "MakerNotes" || group == "Photoshop" {
			bad = true
		}
		if bad {
			leaks = append(leaks, name)
		}
	}
	return leaks
}
