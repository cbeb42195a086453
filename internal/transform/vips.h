// Plan execution on libvips for package transform. See plan.go for what
// each field means; Go computes every number, C only runs the operations.
#include <stddef.h>
#include <vips/vips.h>

typedef struct {
	int thumb_w, thumb_h;     // resize target after EXIF orientation, before rot
	int jpeg_shrink;          // >1: decode the JPEG at 1/jpeg_shrink scale first
	int rotate;               // 0, 90, 180 or 270, after EXIF orientation
	int flip_h, flip_v;
	int crop;                 // 0 none, 1 extract area, 2 attention crop (by thumbnail)
	int crop_x, crop_y, crop_w, crop_h;
	int embed;                // 1: pad into embed_w x embed_h at embed_x, embed_y
	int embed_x, embed_y, embed_w, embed_h;
	double bg[4];             // RGBA 0..255: the padding colour
	int flatten;              // 1: flatten alpha onto bg (formats without alpha)
	double blur, sharpen;     // sigmas; 0 is off
	int format;               // ip_format
	int quality, effort;
	int to_srgb;              // 1: convert from the embedded profile (or CMYK) to sRGB
	int animated;             // 1: load every frame and transform each alike
} ip_plan;

enum ip_format { IP_JPEG = 1, IP_PNG, IP_WEBP, IP_AVIF, IP_GIF };

int ip_init(void);
void ip_allow_svg(void);
int ip_jxl_loader(void);
void ip_allow_jxl(void);
int ip_heic_decoder(void);
int ip_header(const void *buf, size_t len, int *width, int *height,
	int *orientation_swap, int *has_alpha, int *pages, int *needs_icc);
int ip_run(const void *buf, size_t len, const ip_plan *plan, int *stop,
	void **out, size_t *out_len);
const char *ip_error(void);
void ip_error_clear(void);
