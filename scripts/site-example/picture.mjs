// The <picture> helper of the example site: AVIF and WebP sources and an <img> fallback in the
// original's format, every URL signed at build time with ../sign.mjs (copy sign.mjs and
// imgproxy-url.mjs into your site). What a signer cannot know without the origin comes from
// src/_data/images.json, written by images.mjs from `imgproxy sign --batch --from-origin
// --placeholder`: the original's version `v` (a changed original gets new URLs), its size (so
// <img> gets the real width and height and the page never shifts) and a blurred placeholder.

import { sign, srcset } from "../sign.mjs";

/**
 * Returns the <picture> markup for one original.
 *   info:  images.json's entry for the key: { v, width, height, placeholder }
 *   opts:  { keyHex, baseUrl, alt, width (CSS px, default 640), widths (default [320, 640, 960]),
 *            sizes (default "(max-width: Wpx) 100vw, Wpx"), loading (default "lazy") }
 */
export function picture(key, info, opts) {
  if (!info || !info.v || !(info.width > 0) || !(info.height > 0)) {
    throw new Error(`picture: no entry for "${key}" in images.json: add it to images.txt and run npm run images`);
  }
  const { keyHex, baseUrl, alt = "", loading = "lazy" } = opts;
  // Without enlarge the server never makes an image wider than the original: the drawn width
  // and every candidate stop at the original's width.
  const width = Math.min(opts.width ?? 640, info.width);
  const height = scaledHeight(info, width);
  const widths = candidates(opts.widths ?? [320, 640, 960], info.width);
  const sizes = opts.sizes ?? `(max-width: ${width}px) 100vw, ${width}px`;
  const set = (fm) => srcset(keyHex, key, fm ? { v: info.v, fm } : { v: info.v }, widths, baseUrl);
  const style = info.placeholder
    ? `background-size:cover;background-position:center;background-image:url(${info.placeholder})`
    : "";
  return [
    "<picture>",
    `  <source type="image/avif" srcset="${attr(set("avif"))}" sizes="${attr(sizes)}">`,
    `  <source type="image/webp" srcset="${attr(set("webp"))}" sizes="${attr(sizes)}">`,
    `  <img src="${attr(sign(keyHex, key, { v: info.v, w: width }, baseUrl))}" srcset="${attr(set(""))}"` +
      ` sizes="${attr(sizes)}" alt="${attr(alt)}" width="${width}" height="${height}"` +
      (style ? ` style="${attr(style)}"` : "") + ` loading="${attr(loading)}" decoding="async">`,
    "</picture>",
  ].join("\n");
}

/** The height the server gives an image resized to width w alone: h = round(w·H/W), at least 1. */
export function scaledHeight(info, w) {
  return Math.max(1, Math.floor(info.height * (w / info.width) + 0.5));
}

/** The widths up to the original's, plus the original's own when a wider one was asked for. */
export function candidates(widths, originalWidth) {
  const out = new Set(widths.filter((w) => w <= originalWidth));
  if (widths.some((w) => w > originalWidth)) out.add(originalWidth);
  return [...out].sort((a, b) => a - b);
}

function attr(s) {
  return String(s).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
