package imagefmt

import "testing"

func TestFormatNames(t *testing.T) {
	tests := []struct {
		f           Format
		name, ctype string
	}{
		{Unknown, "unknown", ""},
		{JPEG, "jpeg", "image/jpeg"},
		{PNG, "png", "image/png"},
		{GIF, "gif", "image/gif"},
		{WebP, "webp", "image/webp"},
		{AVIF, "avif", "image/avif"},
		{HEIC, "heic", "image/heic"},
		{TIFF, "tiff", "image/tiff"},
		{SVG, "svg", "image/svg+xml"},
		{BMP, "bmp", "image/bmp"},
		{JXL, "jxl", "image/jxl"},
		{Format(200), "unknown", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.f.ContentType(); got != tt.ctype {
				t.Errorf("ContentType() = %q, want %q", got, tt.ctype)
			}
		})
	}
}
