// Eleventy configuration of the example site: one shortcode, {% picture key, alt, options %}.
// The signing key and base URL come from the environment, as for `imgproxy sign`:
// IMGPROXY_SIGNING_KEYS (the first key signs) and IMGPROXY_SIGNING_BASE_URL.

import { picture } from "./picture.mjs";

export default function (eleventyConfig) {
  const keyHex = (process.env.IMGPROXY_SIGNING_KEYS ?? "").split(",")[0].trim();
  const baseUrl = process.env.IMGPROXY_SIGNING_BASE_URL ?? "";
  if (!keyHex) throw new Error("set IMGPROXY_SIGNING_KEYS: the site's image URLs are signed at build time");
  if (!baseUrl) throw new Error("set IMGPROXY_SIGNING_BASE_URL, e.g. https://img.example.com");

  // images is the global data src/_data/images.json (see images.mjs).
  eleventyConfig.addShortcode("picture", function (key, alt, options = {}) {
    const images = this.ctx?.images ?? this.ctx?.environments?.images;
    return picture(key, images?.[key], { ...options, alt, keyHex, baseUrl });
  });

  return { dir: { input: "src", output: "_site" } };
}
