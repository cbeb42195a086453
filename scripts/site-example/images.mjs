// Build step of the example site: looks up every original named in images.txt (one object key a
// line; # comments) with `imgproxy sign --batch --from-origin --placeholder` and writes
// src/_data/images.json, which Eleventy loads as the global data `images`:
//
//   { "photos/cat.jpg": { "v": "Xk3v9Q0b2LrT", "width": 2400, "height": 1600,
//                         "placeholder": "data:image/webp;base64,..." }, ... }
//
// width and height are the original's, EXIF orientation applied (a batch line without parameters
// asks for the original). The origin is configured as for `imgproxy serve` (IMGPROXY_ORIGIN_S3_*
// or IMGPROXY_ORIGIN_DIR, or configs/imgproxy.yaml); IMGPROXY_BIN names the imgproxy binary
// (default: imgproxy on PATH). Any key that cannot be looked up fails the build, naming the key.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const listFile = join(here, "images.txt");
const outFile = join(here, "src", "_data", "images.json");

const keys = [...new Set(readFileSync(listFile, "utf8").split(/\r?\n/)
  .map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")))];

const child = spawn(process.env.IMGPROXY_BIN || "imgproxy",
  ["sign", "--batch", "--from-origin", "--placeholder"], { stdio: ["pipe", "pipe", "inherit"] });
let out = "";
child.stdout.setEncoding("utf8").on("data", (s) => (out += s));
child.stdin.end(keys.map((key) => JSON.stringify({ key }) + "\n").join(""));
const [code, spawnError] = await new Promise((resolve) => {
  child.on("error", (e) => resolve([null, e]));
  child.on("close", (c) => resolve([c, null]));
});
if (spawnError) {
  console.error(`images: cannot run imgproxy (${spawnError.code}): install it or set IMGPROXY_BIN`);
  process.exit(1);
}

const images = {};
let failed = 0;
for (const line of out.split("\n").filter((l) => l !== "")) {
  const l = JSON.parse(line);
  if (l.error) {
    failed++;
    console.error(`images: ${listFile}: ${l.error}`);
    continue;
  }
  images[l.key] = { v: l.v, width: l.width, height: l.height, placeholder: l.placeholder };
}
if (code !== 0 || failed > 0 || Object.keys(images).length !== keys.length) {
  console.error(`images: imgproxy sign exited ${code}; ${failed} of ${keys.length} originals failed`);
  process.exit(1);
}
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(images, null, 2) + "\n");
console.log(`images: ${keys.length} originals -> ${outFile}`);
