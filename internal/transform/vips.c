//go:build cgo

#include <string.h>
#include <libheif/heif.h>

#include "vips.h"

static void drop_log(const char *domain, GLogLevelFlags level,
	const char *message, void *data) {
}

int ip_init(void) {
	// libvips prints warnings (a damaged tile, an ignored colour profile)
	// straight to stderr, unstructured and unbounded; the failures we act
	// on come back through its error buffer and reach our log from there.
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_log, NULL);
	// The operation cache holds references to images and source buffers
	// between requests: no use to a server of mostly distinct images, and
	// memory that no budget accounts for.
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	// Loaders libvips marks untrusted (ImageMagick, PDF, ...) stay off even
	// if a sniffing bug let such bytes through.
	vips_block_untrusted_set(TRUE);
	return 0;
}

int ip_heic_decoder(void) {
	// Debian's libheif decodes HEVC through libde265, a separate plugin
	// in later releases: without it every HEIC would fail at decode time.
	return heif_have_decoder_for_format(heif_compression_HEVC);
}

int ip_jxl_loader(void) {
	// Debian builds libvips with libjxl, but a libvips without it has no
	// such operation, and every JPEG XL would fail at decode time.
	return vips_type_find("VipsOperation", "jxlload_buffer") != 0;
}

void ip_allow_jxl(void) {
	// libvips 8.14 marks its libjxl loader untrusted, as it does every
	// loader its own fuzzing does not yet cover; transform.allow_jxl opts
	// into it, behind our own size and structure checks.
	vips_operation_block_set("VipsForeignLoadJxl", FALSE);
}

void ip_allow_svg(void) {
	// librsvg is marked untrusted by libvips; an operator who allows SVG
	// opts into it, for rasterising only.
	vips_operation_block_set("VipsForeignLoadSvg", FALSE);
}

const char *ip_error(void) { return vips_error_buffer(); }
void ip_error_clear(void) { vips_error_clear(); }

int ip_header(const void *buf, size_t len, int *width, int *height,
	int *orientation_swap, int *has_alpha, int *pages, int *needs_icc) {
	// Header only: libvips decodes pixels lazily, and nothing asks for them.
	VipsImage *im = vips_image_new_from_buffer(buf, len, "", NULL);
	if (!im) return -1;
	*width = vips_image_get_width(im);
	*height = vips_image_get_height(im);
	*orientation_swap = vips_image_get_orientation_swap(im);
	*has_alpha = vips_image_hasalpha(im);
	*pages = vips_image_get_n_pages(im);
	*needs_icc = vips_image_get_typeof(im, VIPS_META_ICC_NAME) != 0 ||
		vips_image_get_interpretation(im) == VIPS_INTERPRETATION_CMYK;
	g_object_unref(im);
	return 0;
}

// step replaces *im with the result of an operation, releasing the input.
// Downstream images keep their inputs alive, so the chain stays valid.
static int step(VipsImage **im, VipsImage *out, int rc) {
	if (rc) return -1;
	g_object_unref(*im);
	*im = out;
	return 0;
}

// AVIF is written with libheif directly rather than vips_heifsave, whose
// libheif encoder runs libaom with its default of 4 threads per image:
// with the pool's workers already on every core, those threads only add
// synchronisation (2 concurrent 400-wide encodes: 72-83 ms of CPU each,
// against 56-59 ms single-threaded; 7 % of a whole W4 miss in the
// server). The encoder's threads follow libvips' own concurrency
// (VIPS_CONCURRENCY, 1 by default). Every other setting is
// vips_heifsave's (speed 9 - effort, 4:2:0 below Q 90, no metadata): with
// the same threads the output is byte-identical.

typedef struct {
	uint8_t *plane;
	int stride;
	size_t row; // bytes of one image row
} plane_writer;

// copy_rows receives the image top to bottom from vips_sink_disc.
static int copy_rows(VipsRegion *region, VipsRect *area, void *a) {
	plane_writer *w = a;
	for (int y = 0; y < area->height; y++)
		memcpy(w->plane + (size_t) (area->top + y) * w->stride,
			VIPS_REGION_ADDR(region, area->left, area->top + y), w->row);
	return 0;
}

typedef struct {
	char *buf;
	size_t len, cap;
} mem_target;

static struct heif_error write_mem(struct heif_context *ctx, const void *data, size_t size, void *t) {
	mem_target *m = t;
	if (m->len + size > m->cap) {
		m->cap = 2 * (m->len + size);
		m->buf = g_realloc(m->buf, m->cap);
	}
	memcpy(m->buf + m->len, data, size);
	m->len += size;
	struct heif_error ok = {heif_error_Ok, heif_suberror_Unspecified, "ok"};
	return ok;
}

static int heif_failed(struct heif_error err) {
	if (err.code == heif_error_Ok) return 0;
	vips_error("imgproxy", "avif: %s", err.message);
	return 1;
}

// Encoder settings are optional: libheif may pick an AV1 encoder (rav1e,
// SVT-AV1) that lacks one, as vips_heifsave allows.
static int heif_option_failed(struct heif_error err) {
	if (err.code != heif_error_Ok && err.subcode == heif_suberror_Unsupported_parameter) return 0;
	return heif_failed(err);
}

static int avif_save(VipsImage *im, const ip_plan *p, void **out, size_t *out_len) {
	int bands = vips_image_get_bands(im);
	if (vips_image_get_format(im) != VIPS_FORMAT_UCHAR || (bands != 3 && bands != 4)) {
		vips_error("imgproxy", "avif: %d-band image", bands);
		return -1;
	}
	int width = vips_image_get_width(im), height = vips_image_get_height(im);
	struct heif_context *ctx = heif_context_alloc();
	struct heif_encoder *enc = NULL;
	struct heif_image *img = NULL;
	struct heif_image_handle *handle = NULL;
	struct heif_encoding_options *opts = NULL;
	mem_target m = {NULL, 0, 0};
	int rc = -1;

	if (heif_failed(heif_context_get_encoder_for_format(ctx, heif_compression_AV1, &enc)) ||
		heif_failed(heif_encoder_set_lossy_quality(enc, p->quality)) ||
		heif_option_failed(heif_encoder_set_parameter_integer(enc, "speed", 9 - VIPS_CLIP(0, p->effort, 9))) ||
		heif_option_failed(heif_encoder_set_parameter_string(enc, "chroma", p->quality >= 90 ? "444" : "420")) ||
		heif_option_failed(heif_encoder_set_parameter_integer(enc, "threads", VIPS_CLIP(1, vips_concurrency_get(), 16))) ||
		heif_failed(heif_image_create(width, height, heif_colorspace_RGB,
			bands == 4 ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &img)) ||
		heif_failed(heif_image_add_plane(img, heif_channel_interleaved, width, height, 8)))
		goto done;

	// The pixels are computed straight into libheif's plane: one copy of
	// the output, however large.
	plane_writer w = {.row = (size_t) width * bands};
	w.plane = heif_image_get_plane(img, heif_channel_interleaved, &w.stride);
	if (!w.plane) {
		vips_error("imgproxy", "avif: no image plane");
		goto done;
	}
	if (vips_sink_disc(im, copy_rows, &w)) goto done;

	opts = heif_encoding_options_alloc();
	if (heif_failed(heif_context_encode_image(ctx, img, enc, opts, &handle))) goto done;
	struct heif_writer writer = {.writer_api_version = 1, .write = write_mem};
	if (heif_failed(heif_context_write(ctx, &writer, &m))) goto done;
	*out = m.buf;
	*out_len = m.len;
	m.buf = NULL;
	rc = 0;
done:
	g_free(m.buf);
	if (opts) heif_encoding_options_free(opts);
	if (handle) heif_image_handle_release(handle);
	if (img) heif_image_release(img);
	if (enc) heif_encoder_release(enc);
	heif_context_free(ctx);
	return rc;
}

// kept_field lists the metadata an encoder may still see: the layout of
// an animation (which the savers read as frame geometry and timing, never
// as text). Everything else, whatever its name, is removed.
static int kept_field(const char *name) {
	static const char *keep[] = {"page-height", "n-pages", "delay", "loop", "gif-delay", "gif-loop", NULL};
	for (const char **k = keep; *k; k++)
		if (!strcmp(name, *k)) return 1;
	return 0;
}

// strip_metadata removes every metadata field from a copy of *im: EXIF,
// XMP, IPTC, ICC, comments, text chunks, maker notes. Savers are told to
// "strip" too, but libvips 8.14's WebP saver ignores that and writes EXIF
// and XMP it finds on the image; a field that is not there cannot be
// written by any saver, present or future. Orientation is already applied
// to the pixels and colour converted to sRGB, which needs no profile.
static int strip_metadata(VipsImage **im) {
	VipsImage *t;
	if (vips_copy(*im, &t, NULL)) return -1;
	gchar **fields = vips_image_get_fields(t);
	for (gchar **f = fields; *f; f++)
		if (!kept_field(*f)) vips_image_remove(t, *f);
	g_strfreev(fields);
	return step(im, t, 0);
}

static int save(VipsImage *im, const ip_plan *p, void **out, size_t *out_len) {
	switch (p->format) {
	case IP_JPEG:
		return vips_jpegsave_buffer(im, out, out_len, "Q", p->quality,
			"strip", TRUE, "optimize_coding", TRUE, NULL);
	case IP_PNG:
		return vips_pngsave_buffer(im, out, out_len, "compression", 6,
			"strip", TRUE, NULL);
	case IP_WEBP:
		return vips_webpsave_buffer(im, out, out_len, "Q", p->quality,
			"effort", p->effort, "strip", TRUE, NULL);
	case IP_AVIF:
		return avif_save(im, p, out, out_len);
	case IP_GIF:
		return vips_gifsave_buffer(im, out, out_len, "strip", TRUE, NULL);
	}
	vips_error("imgproxy", "unknown output format %d", p->format);
	return -1;
}

// on_eval runs as libvips computes the image being saved; once Go sets
// *stop (its caller's deadline passed), it tells libvips to give up.
static void on_eval(VipsImage *image, VipsProgress *progress, int *stop) {
	if (__atomic_load_n(stop, __ATOMIC_RELAXED))
		vips_image_set_kill(image, TRUE);
}

// thumbnail: shrink-on-load, EXIF auto-orientation, conversion of embedded
// profiles to sRGB, all in one pass. "force": Go computed the exact size
// for every fit mode. fail_on=truncated: refuse damage the decoders notice
// themselves.
static int thumbnail(const void *buf, size_t len, const ip_plan *p, VipsImage **out) {
	VipsImage *src = NULL;

	if (p->jpeg_shrink > 1) {
		// vips_thumbnail's own JPEG shrink-on-load keeps a factor of two
		// for its resize (2048 to 400 decodes at 1024); Go picked the
		// largest shrink that keeps the target size, so libjpeg does the
		// work in the DCT domain and the resize starts from a quarter of
		// the pixels. Measured on Kodak photographs enlarged to 2048x1536
		// and 4000x3000: 15-25 % less CPU per image, and 0.3-0.5 dB less
		// PSNR against a Lanczos resize of the fully decoded image.
		src = vips_image_new_from_buffer((void *) buf, len, "fail_on=truncated",
			"shrink", p->jpeg_shrink, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
		if (!src) return -1;
	}
	// smart: cover the box and crop by attention, in thumbnail's own pass.
	VipsInteresting crop = p->crop == 2 ? VIPS_INTERESTING_ATTENTION : VIPS_INTERESTING_NONE;
	VipsSize size = p->crop == 2 ? VIPS_SIZE_BOTH : VIPS_SIZE_FORCE;
	// An embedded profile (Display P3 from a phone, Adobe RGB) or CMYK:
	// convert to sRGB, which needs no profile once the metadata is gone.
	// Without one the pixels are taken as sRGB already, and the transform
	// would only cost time.
	const char *export = p->to_srgb ? "srgb" : NULL;
	int rc = src ? vips_thumbnail_image(src, out, p->thumb_w, "height", p->thumb_h,
			"crop", crop, "size", size, "export_profile", export, NULL) :
		vips_thumbnail_buffer((void *) buf, len, out, p->thumb_w, "height", p->thumb_h,
			"crop", crop, "size", size, "export_profile", export,
			"option_string", p->animated ? "fail_on=truncated,n=-1" : "fail_on=truncated", NULL);
	if (src) g_object_unref(src); // *out holds its own reference
	return rc;
}

// filter blurs and sharpens. With alpha it works on premultiplied values:
// otherwise the colour of transparent pixels (often black) bleeds into the
// edge, and a white shape on transparency gets a dark halo once flattened.
// Small sigmas: libvips' integer mask drops every tap below min_ampl (0.2)
// of the centre, so a blur under 0.5 changed nothing; a float mask down to
// 0.001 of the centre gives every allowed sigma an effect. Its sharpen has
// no such knob and does nothing below 0.5, so Go asks for at least that.
static int filter(VipsImage **im, const ip_plan *p) {
	VipsImage *t;
	int alpha = vips_image_hasalpha(*im);
	VipsBandFormat format = vips_image_get_format(*im);
	if (alpha && step(im, t, vips_premultiply(*im, &t, NULL))) return -1;
	if (p->blur > 0) {
		int r = p->blur < 1 ?
			vips_gaussblur(*im, &t, p->blur, "min_ampl", 0.001, "precision", VIPS_PRECISION_FLOAT, NULL) :
			vips_gaussblur(*im, &t, p->blur, NULL);
		if (step(im, t, r)) return -1;
	}
	if (p->sharpen > 0 && step(im, t, vips_sharpen(*im, &t, "sigma", p->sharpen, NULL))) return -1;
	if (alpha) {
		if (step(im, t, vips_unpremultiply(*im, &t, NULL))) return -1;
		if (step(im, t, vips_cast(*im, &t, format, NULL))) return -1;
	}
	return 0;
}

// frame runs the geometry and filters of the plan on one image (a still,
// or one frame of an animation), replacing *im.
static int frame(VipsImage **im, const ip_plan *p) {
	VipsImage *t = NULL;
	if (p->rotate) {
		VipsAngle a = p->rotate == 90 ? VIPS_ANGLE_D90 :
			p->rotate == 180 ? VIPS_ANGLE_D180 : VIPS_ANGLE_D270;
		if (step(im, t, vips_rot(*im, &t, a, NULL))) return -1;
	}
	if (p->flip_h && step(im, t, vips_flip(*im, &t, VIPS_DIRECTION_HORIZONTAL, NULL))) return -1;
	if (p->flip_v && step(im, t, vips_flip(*im, &t, VIPS_DIRECTION_VERTICAL, NULL))) return -1;

	if (p->crop == 1 && step(im, t, vips_extract_area(*im, &t,
		p->crop_x, p->crop_y, p->crop_w, p->crop_h, NULL))) return -1;

	if ((p->blur > 0 || p->sharpen > 0) && filter(im, p)) return -1;

	if (p->embed) {
		// Transparent padding needs an alpha band to be transparent in.
		int alpha = p->bg[3] < 255 && !p->flatten;
		if (alpha && !vips_image_hasalpha(*im) &&
			step(im, t, vips_addalpha(*im, &t, NULL))) return -1;
		int bands = vips_image_get_bands(*im);
		VipsArrayDouble *bg = vips_array_double_new(p->bg, bands < 4 ? bands : 4);
		int r = vips_embed(*im, &t, p->embed_x, p->embed_y, p->embed_w, p->embed_h,
			"extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
		vips_area_unref(VIPS_AREA(bg));
		if (step(im, t, r)) return -1;
	}
	if (p->flatten && vips_image_hasalpha(*im)) {
		VipsArrayDouble *bg = vips_array_double_new(p->bg, 3);
		int r = vips_flatten(*im, &t, "background", bg, NULL);
		vips_area_unref(VIPS_AREA(bg));
		if (step(im, t, r)) return -1;
	}
	return 0;
}

// frames runs frame on every page of an animation, which libvips holds as
// one tall strip of page-height rows per frame: rotating or cropping the
// strip would mix frames. The result is a strip again, with the frames'
// new height, and the delays and loop count of the original.
static int frames(VipsImage **im, const ip_plan *p) {
	int page_h = vips_image_get_page_height(*im);
	int n = vips_image_get_height(*im) / page_h;
	if (n <= 1) return frame(im, p);
	VipsImage **out = g_new0(VipsImage *, n);
	int rc = -1;
	for (int i = 0; i < n; i++) {
		if (vips_extract_area(*im, &out[i], 0, i * page_h, vips_image_get_width(*im), page_h, NULL) ||
			frame(&out[i], p)) goto done;
	}
	VipsImage *joined = NULL, *t = NULL;
	if (vips_arrayjoin(out, &joined, n, "across", 1, NULL)) goto done;
	if (vips_copy(joined, &t, NULL)) {
		g_object_unref(joined);
		goto done;
	}
	g_object_unref(joined);
	// The timing of the original; everything else is stripped later.
	vips_image_set_int(t, VIPS_META_PAGE_HEIGHT, vips_image_get_height(out[0]));
	int *delay = NULL, delays = 0, loop = 0;
	if (vips_image_get_typeof(*im, "delay") &&
		!vips_image_get_array_int(*im, "delay", &delay, &delays) && delays == n)
		vips_image_set_array_int(t, "delay", delay, n);
	if (vips_image_get_typeof(*im, "loop") && !vips_image_get_int(*im, "loop", &loop))
		vips_image_set_int(t, "loop", loop);
	rc = step(im, t, 0);
done:
	for (int i = 0; i < n; i++)
		if (out[i]) g_object_unref(out[i]);
	g_free(out);
	return rc;
}

int ip_run(const void *buf, size_t len, const ip_plan *p, int *stop, void **out, size_t *out_len) {
	VipsImage *im = NULL, *t = NULL;
	int rc = -1;

	if (thumbnail(buf, len, p, &im)) goto done;

	if (vips_image_get_interpretation(im) != VIPS_INTERPRETATION_sRGB ||
		vips_image_get_format(im) != VIPS_FORMAT_UCHAR) {
		if (step(&im, t, vips_colourspace(im, &t, VIPS_INTERPRETATION_sRGB, NULL))) goto done;
		if (vips_image_get_format(im) != VIPS_FORMAT_UCHAR &&
			step(&im, t, vips_cast(im, &t, VIPS_FORMAT_UCHAR, NULL))) goto done;
	}
	if (p->animated ? frames(&im, p) : frame(&im, p)) goto done;
	if (strip_metadata(&im)) goto done;
	vips_image_set_progress(im, TRUE);
	g_signal_connect(im, "eval", G_CALLBACK(on_eval), stop);
	rc = save(im, p, out, out_len);
	if (rc == 0 && __atomic_load_n(stop, __ATOMIC_RELAXED)) {
		g_free(*out); // killed at the very end: do not trust the output
		*out = NULL;
		rc = -1;
	}
done:
	if (im) g_object_unref(im);
	return rc;
}
