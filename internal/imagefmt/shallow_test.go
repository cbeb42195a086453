package imagefmt

import (
	"errors"
	"testing"
)

func TestCheckShallow(t *testing.T) {
	bmp := "BM\x00\x00\x00\x00\x00\x00\x00\x00\x1A\x00\x00\x00\x0C\x00\x00\x00\x01\x00\x01\x00\x01\x00\x18\x00"
	tests := []struct {
		name   string
		format Format
		in     string
		want   error
	}{
		{"tiff", TIFF, "II*\x00\x08\x00\x00\x00\x00\x00", nil},
		{"tiff big endian", TIFF, "MM\x00*\x00\x00\x00\x08\x00\x00", nil},
		{"bigtiff", TIFF, "II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00" + "\x00\x00\x00\x00\x00\x00\x00\x00", nil},
		{"tiff IFD past end", TIFF, "II*\x00\x00\x01\x00\x00\x00\x00", ErrTruncated},
		{"tiff IFD inside header", TIFF, "II*\x00\x04\x00\x00\x00\x00\x00", ErrCorrupt},
		{"tiff header cut", TIFF, "II*\x00\x08", ErrTruncated},
		{"bigtiff bad offset size", TIFF, "II+\x00\x04\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00", ErrCorrupt},
		{"tiff bad magic", TIFF, "II\x00*\x08\x00\x00\x00\x00\x00", ErrCorrupt},
		{"bmp", BMP, bmp, nil},
		{"bmp DIB header cut", BMP, bmp[:20], ErrTruncated},
		{"bmp pixel data past end", BMP, bmp[:10] + "\xFF" + bmp[11:], ErrTruncated},
		{"bmp bad DIB header size", BMP, bmp[:14] + "\x0D" + bmp[15:], ErrCorrupt},
		{"svg", SVG, "<svg/>\n", nil},
		{"svg with trailing comment", SVG, "<svg></svg><!-- end -->", nil},
		{"svg cut", SVG, "<svg><rect width=", ErrTruncated},
		{"svg cut short", SVG, "<sv", ErrTruncated},
		{"html as svg", SVG, "<html><svg/></html>", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect([]byte(tt.in), tt.format)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Inspect = %v, want %v", err, tt.want)
			}
			if info != (Info{}) {
				t.Errorf("Inspect = %+v, want no dimensions", info)
			}
		})
	}
}
