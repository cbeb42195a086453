// Reference signer for the imgproxy v1 URL contract (README.md, "The URL contract").
//
// Dependency-free ES module for Node 18+. It produces byte-for-byte the same URLs as the Go
// signer (`imgproxy sign`) and is checked against internal/urlsig/testdata/vectors.json. The
// contract's rules (canonical encoding, object key and parameter checks, the string to sign)
// live in ./imgproxy-url.mjs, which the edge verifier (cloudflare/worker.mjs) shares: copy both
// files into your site.
//
// Library:
//   import { sign, srcset, stringToSign } from "./sign.mjs";
//   sign(keyHex, "photos/cat.jpg", { w: 400, fm: "webp" }, "https://img.example.com")
//
// Command line (the key comes from IMGPROXY_SIGNING_KEYS or --key-file, never an argument):
//   node scripts/sign.mjs photos/cat.jpg w=400 fm=webp
//   node scripts/sign.mjs photos/cat.jpg fm=webp --widths 320,640
//   node scripts/sign.mjs --batch < lines.jsonl
//
// Error messages name the problem but never contain a signing key, and never echo parameter
// values or object keys.

import * as crypto from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";

import {
  canonicalToSign, checkObjectKey, checkParams, decodeKeyHex, DEFAULT_MAX_OUTPUT_DIM, describeName,
  hundredths, maxOutputDim, normalizeParams, POSITIVE_INT, withSignature,
} from "./imgproxy-url.mjs";

export {
  checkObjectKey, DEFAULT_MAX_OUTPUT_DIM, escapeComponent, MAX_OBJECT_KEY_BYTES, MIN_KEY_BYTES,
  normalizeParams, PARAM_NAMES,
} from "./imgproxy-url.mjs";

function fail(message) {
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// Keys

let lastKeyHex = null;
let lastKey = null;

/** Decodes and checks a hex signing key. Messages never contain the key. */
export function parseKeyHex(keyHex) {
  return keyState(keyHex).key;
}

// The last key used, decoded, with its HMAC function: batch signing uses one key throughout.
function keyState(keyHex) {
  if (keyHex === lastKeyHex && typeof keyHex === "string") return lastKey;
  const key = Buffer.from(decodeKeyHex(keyHex));
  lastKey = { key, mac: hmacFunction(key) };
  lastKeyHex = keyHex;
  return lastKey;
}

// Returns msg => base64url_nopad(HMAC-SHA256(key, msg)): the HMAC of the contract, with
// node:crypto because sign() is synchronous (imgproxy-url.mjs does the same with WebCrypto for
// verification). A reference signer stays with the plain createHmac: obviously correct beats a
// faster hand-built HMAC.
function hmacFunction(key) {
  const secret = crypto.createSecretKey(key);
  return (msg) => crypto.createHmac("sha256", secret).update(msg, "utf8").digest("base64url");
}

function isWellFormed(s) {
  if (typeof s.isWellFormed === "function") return s.isWellFormed();
  return !/\p{Cs}/u.test(s);
}

// ---------------------------------------------------------------------------------------------
// Signing

// http(s)://host[:port] and an optional path prefix of plain segments, as the Go CLI's
// signing.base_url: the server strips the prefix (server.path_prefix) before it verifies, so it
// must be written exactly as a request will carry it.
const BASE_URL = /^https?:\/\/[^/?#@\s]+((?:\/[A-Za-z0-9._~-]+)*)\/*$/;

function normalizeBaseUrl(baseUrl) {
  if (baseUrl === undefined || baseUrl === null || baseUrl === "") return "";
  if (typeof baseUrl !== "string") fail("base URL must be a string");
  const m = BASE_URL.exec(baseUrl);
  if (!m || m[1].split("/").some((seg) => seg === "." || seg === "..")) {
    fail("base URL: want http:// or https://, a host, and optionally a path prefix of " +
      "A-Z a-z 0-9 - . _ ~ segments (https://example.com/img), without query or fragment");
  }
  return baseUrl.replace(/\/+$/, "");
}

function signNormalized(state, objectKey, p, base) {
  const sts = canonicalToSign(objectKey, p);
  return base + withSignature(sts, state.mac(sts));
}

/**
 * The string to sign: the canonical path, plus "?" and the canonical query (without s) when
 * there are parameters. Parameters are validated like sign() does.
 */
export function stringToSign(objectKey, params, options) {
  return canonicalToSign(objectKey, normalizeParams(params, options));
}

/**
 * Returns the signed URL: baseUrl (trailing slashes removed) + canonical path + "?" + canonical
 * query + "&s=" + signature, or "?s=" + signature when there are no parameters.
 * options: { maxOutputDim } (server configuration transform.max_output_dim, default 8192).
 */
export function sign(keyHex, objectKey, params, baseUrl = "", options = undefined) {
  const state = keyState(keyHex);
  const base = normalizeBaseUrl(baseUrl);
  return signNormalized(state, objectKey, normalizeParams(params, options), base);
}

/** Height for width wi keeping the aspect ratio h:w, rounded half up, at least 1. */
function scaledHeight(h, w, wi) {
  const x = (2n * h * wi + w) / (2n * w);
  return x < 1n ? 1n : x;
}

/**
 * Returns a srcset value "URL1 320w, URL2 640w": one signed URL per width, smallest first and
 * each once, with w replaced by that width (and h scaled to keep the aspect ratio of the given w
 * and h). A descriptor is the candidate's width in real pixels, w·dpr rounded half up, which is
 * what a browser divides by the slot's width to know the image's density.
 */
export function srcset(keyHex, objectKey, params, widths, baseUrl = "", options = undefined) {
  const state = keyState(keyHex);
  const base = normalizeBaseUrl(baseUrl);
  const p = normalizeParams(params, options);
  checkObjectKey(objectKey);
  if (!Array.isArray(widths) || widths.length === 0) {
    fail("widths must be a non-empty list of positive whole numbers");
  }
  for (const wi of widths) {
    if (!Number.isSafeInteger(wi) || wi < 1) fail("widths must be positive whole numbers");
  }
  const hasH = p.has("h");
  if (hasH && !p.has("w")) fail("widths with h need w to keep the aspect ratio");
  const w = hasH ? BigInt(p.get("w")) : 0n;
  const h = hasH ? BigInt(p.get("h")) : 0n;
  const dpr = p.has("dpr") ? hundredths(p.get("dpr")) : 100n;
  const maxDim = maxOutputDim(options);
  const parts = [];
  for (const wi of sortWidths(widths)) {
    const q = new Map(p);
    q.set("w", String(wi));
    if (hasH) q.set("h", String(scaledHeight(h, w, BigInt(wi))));
    try {
      checkParams(q, maxDim);
    } catch (e) {
      fail(`width ${wi}: ${e.message}`);
    }
    const pixels = (BigInt(wi) * dpr + 50n) / 100n;
    parts.push(signNormalized(state, objectKey, q, base) + " " + pixels + "w");
  }
  return parts.join(", ");
}

const HTML_ESCAPES = { "&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;" };

/** An HTML attribute, escaped as Go's html.EscapeString does. */
function attr(name, value) {
  return ` ${name}="${String(value).replace(/[&'<>"]/g, (c) => HTML_ESCAPES[c])}"`;
}

/**
 * Returns <picture> markup, byte for byte what `imgproxy sign --picture` prints without
 * --from-origin: an AVIF <source>, a WebP <source> and an <img> in the original's format, each
 * with the same candidates. Descriptors are real pixel widths, sizes defaults to the w asked
 * for, and <img> carries width (and height, when h is given) so that its space is reserved
 * before it loads; neither with fit=inside or outside, whose output has the original's aspect.
 * markup: { widths, sizes, alt }. With the original looked up (real sizes, v, a placeholder)
 * use the Go CLI's `sign --from-origin`, which reads the origin.
 */
export function picture(keyHex, objectKey, params, markup = {}, baseUrl = "", options = undefined) {
  const p = normalizeParams(params, options);
  if (p.has("fm") || p.has("auto")) fail("picture markup chooses the formats itself: drop fm and auto");
  const w = p.has("w") ? Number(p.get("w")) : 0;
  const h = p.has("h") ? Number(p.get("h")) : 0;
  const dpr = p.has("dpr") ? Number(hundredths(p.get("dpr"))) : 100;
  const widths = markup.widths ? sortWidths(markup.widths) : [];
  const srcW = w || (widths.length > 0 ? Math.max(...widths) : 0);
  const srcParams = (q) => {
    if (widths.length === 0) return q;
    const r = new Map(q);
    r.set("w", String(srcW));
    if (h > 0) r.set("h", String(scaledHeight(BigInt(h), BigInt(w), BigInt(srcW))));
    return r;
  };
  let sizes = markup.sizes ?? "";
  const widthDescriptors = widths.length > 0 || w > 0;
  if (sizes !== "" && !widthDescriptors) fail("sizes needs widths (or w): it picks among width descriptors");
  if (sizes === "" && w > 0) sizes = `(max-width: ${w}px) 100vw, ${w}px`;
  else if (sizes === "" && widths.length > 0) {
    fail("widths without w need sizes: say how wide the image is drawn, with w (CSS pixels) or sizes");
  }
  const obj = (q) => Object.fromEntries(q);
  const candidates = (fm) => {
    const v = new Map(p);
    if (fm) v.set("fm", fm);
    if (widths.length > 0) {
      const set = srcset(keyHex, objectKey, obj(v), widths, baseUrl, options);
      return [set, sign(keyHex, objectKey, obj(srcParams(v)), baseUrl, options)];
    }
    const src = sign(keyHex, objectKey, obj(v), baseUrl, options);
    if (w > 0) return [`${src} ${Math.floor((w * dpr + 50) / 100)}w`, src];
    if (h > 0 && dpr !== 100) return [`${src} ${dpr / 100}x`, src];
    return [src, src];
  };
  let out = "<picture>\n";
  for (const [fm, type] of [["avif", "image/avif"], ["webp", "image/webp"]]) {
    out += `  <source type="${type}"` + attr("srcset", candidates(fm)[0]);
    if (sizes !== "") out += attr("sizes", sizes);
    out += ">\n";
  }
  const [set, src] = candidates("");
  out += "  <img" + attr("src", src);
  if (set !== src) out += attr("srcset", set);
  if (sizes !== "") out += attr("sizes", sizes);
  out += attr("alt", markup.alt ?? "");
  const fit = p.get("fit");
  const keepsAspect = w > 0 && h > 0 && (fit === "inside" || fit === "outside");
  if (w > 0 && !keepsAspect) out += attr("width", w);
  if (h > 0 && !keepsAspect) out += attr("height", h);
  return out + ' loading="lazy" decoding="async">\n</picture>\n';
}

/** The widths sorted and each once: a repeated descriptor makes a browser drop a candidate. */
function sortWidths(widths) {
  return [...new Set(widths)].sort((a, b) => a - b);
}


// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `usage:
  node scripts/sign.mjs [flags] OBJECT_KEY [name=value ...]
  node scripts/sign.mjs [flags] --batch < lines.jsonl

Prints a signed URL; with --widths, a srcset value. With --batch, reads JSON lines
  {"key": "photos/cat.jpg", "params": {"w": "400"}, "widths": [320, 640]}
from stdin ("params" and "widths" optional) and writes one JSON line per input line, in order:
  {"key": ..., "url": ..., "srcset": ...}  or  {"key": ..., "error": ...}

The signing key is the first of IMGPROXY_SIGNING_KEYS (comma-separated hex), or the first key in
--key-file. It is never accepted as an argument.

flags:
  --key-file PATH        file of hex keys, comma or newline separated, # comment lines
  --base-url URL         prefix for the URLs (default: IMGPROXY_SIGNING_BASE_URL, else paths only)
  --widths W1,W2,...     print a srcset value with one URL per width (sorted, each once)
  --expires WHEN         add exp: a duration from now (24h, 90m, 1.5h) or an RFC 3339 time
                         (2027-01-01T00:00:00Z); in batch, for every line without its own exp
  --max-output-dim N     server's transform.max_output_dim
                         (default: IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM, else ${DEFAULT_MAX_OUTPUT_DIM})
  --batch                JSON lines in, JSON lines out
  -h, --help             show this help
`;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { positional: [], batch: false, help: false };
  const withValue = new Set(["--key-file", "--base-url", "--widths", "--max-output-dim", "--expires"]);
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++];
    if (arg === "--") {
      opts.positional.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      opts.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (flag === "--key" || flag === "-k" || flag === "--signing-key" || flag === "--keys") {
      throw new UsageError(
        "the signing key is not accepted as an argument: set IMGPROXY_SIGNING_KEYS or use --key-file");
    }
    if (flag === "--batch" || flag === "--help" || flag === "-h") {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`);
      if (flag === "--batch") {
        if (opts.batch) throw new UsageError("--batch given twice");
        opts.batch = true;
      } else {
        opts.help = true;
      }
      continue;
    }
    if (!withValue.has(flag)) {
      throw new UsageError(`unknown flag ${/^-[-A-Za-z0-9]{1,30}$/.test(flag) ? flag : ""}`.trim());
    }
    let value;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i < argv.length) value = argv[i++];
    else throw new UsageError(`${flag} needs a value`);
    const field = { "--key-file": "keyFile", "--base-url": "baseUrl", "--widths": "widths",
      "--max-output-dim": "maxOutputDim", "--expires": "expires" }[flag];
    if (opts[field] !== undefined) throw new UsageError(`${flag} given twice`);
    opts[field] = value;
  }
  return opts;
}

/** Splits a list of hex keys (commas or newlines; `#` comment lines ignored) into its entries. */
export function splitKeys(text) {
  return text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n|\r/)
    .filter((line) => !line.trim().startsWith("#"))
    .flatMap((line) => line.split(","))
    .map((k) => k.trim())
    .filter((k) => k !== "");
}

function loadKeys(opts, env) {
  let keys;
  let source;
  if (opts.keyFile !== undefined) {
    source = "key file";
    let text;
    try {
      text = readFileSync(opts.keyFile, "utf8");
    } catch (e) {
      throw new Error(`cannot read key file: ${e.code ?? "error"}`);
    }
    keys = splitKeys(text);
  } else if (env.IMGPROXY_SIGNING_KEYS !== undefined && env.IMGPROXY_SIGNING_KEYS.trim() !== "") {
    source = "IMGPROXY_SIGNING_KEYS";
    keys = env.IMGPROXY_SIGNING_KEYS.split(",").map((k) => k.trim()).filter((k) => k !== "");
  } else {
    throw new Error("no signing key: set IMGPROXY_SIGNING_KEYS or use --key-file");
  }
  if (keys.length === 0) throw new Error(`no signing key in ${source}`);
  // Every configured key must be valid (the server refuses to start otherwise); report by position.
  keys.forEach((k, i) => {
    try {
      parseKeyHex(k);
    } catch (e) {
      throw new Error(`${source}: key ${i + 1}: ${e.message}`);
    }
  });
  return keys;
}

function parsePositiveInt(text, what) {
  if (!POSITIVE_INT.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a positive whole number`);
  }
  return Number(text);
}

function parseWidths(text) {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((s) => s === "")) {
    throw new UsageError("--widths must be a comma-separated list of positive whole numbers");
  }
  return parts.map((s) => parsePositiveInt(s, "every width in --widths"));
}

function parseParamArgs(args) {
  const params = Object.create(null);
  for (const [i, arg] of args.entries()) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new UsageError(`argument ${i + 2}: parameters are written name=value`);
    const name = arg.slice(0, eq);
    if (Object.hasOwn(params, name)) throw new UsageError(`parameter${describeName(name)} given twice`);
    params[name] = arg.slice(eq + 1);
  }
  return params;
}

// ---------------------------------------------------------------------------------------------
// Batch lines, read by the rules internal/sign/batchline.go states, so that both signers refuse
// exactly the same lines. JSON.parse cannot follow them: it turns 400.0 into 400 and 1.50 into
// 1.5, and loses the digits of a large number, where a line's number must be taken as written.

/** A JSON number as written in the line. */
class RawNumber {
  constructor(text) {
    this.text = text;
  }
}

// encoding/json's limit on nesting; a line nested deeper is not JSON to either signer.
const MAX_JSON_DEPTH = 10000;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// eslint-disable-next-line no-control-regex
const PLAIN_STRING = /[^"\\\x00-\x1f]*/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

class JsonError extends Error {}

/**
 * Parses one line of strict JSON (RFC 8259, as Go's encoding/json reads it): objects have a null
 * prototype (the last of a repeated name counts), numbers are RawNumber, strings keep lone
 * surrogates. Throws JsonError.
 */
export function parseJsonLine(text) {
  let i = 0;
  const n = text.length;
  const bad = () => {
    throw new JsonError("invalid JSON");
  };
  const skip = () => {
    for (let c; i < n && ((c = text.charCodeAt(i)) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09);) i++;
  };
  const expect = (ch) => {
    skip();
    if (text[i] !== ch) bad();
    i++;
  };
  const string = () => {
    skip();
    if (text[i] !== '"') bad();
    i++;
    let out = "";
    for (;;) {
      PLAIN_STRING.lastIndex = i;
      PLAIN_STRING.exec(text);
      out += text.slice(i, PLAIN_STRING.lastIndex);
      i = PLAIN_STRING.lastIndex;
      const c = text[i++];
      if (c === '"') return out;
      if (c !== "\\") bad(); // a control character, or the end of the line
      const e = text[i++];
      if (e === "u") {
        const hex = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) bad();
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
      } else {
        bad();
      }
    }
  };
  const stack = []; // open containers: { arr } or { obj, key }
  for (;;) {
    skip();
    let value;
    const c = text[i];
    if (c === "{" || c === "[") {
      if (stack.length + 1 > MAX_JSON_DEPTH) bad();
      i++;
      skip();
      if (c === "{") {
        value = Object.create(null);
        if (text[i] !== "}") {
          const key = string();
          expect(":");
          stack.push({ obj: value, key });
          continue;
        }
      } else {
        value = [];
        if (text[i] !== "]") {
          stack.push({ arr: value });
          continue;
        }
      }
      i++;
    } else if (c === '"') {
      value = string();
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) bad();
      value = new RawNumber(m[0]);
      i = NUMBER.lastIndex;
    } else if (text.startsWith("true", i)) {
      value = true;
      i += 4;
    } else if (text.startsWith("false", i)) {
      value = false;
      i += 5;
    } else if (text.startsWith("null", i)) {
      value = null;
      i += 4;
    } else {
      bad();
    }
    // Store the value in its container, closing every container that ends here.
    for (;;) {
      if (stack.length === 0) {
        skip();
        if (i !== n) bad();
        return value;
      }
      const top = stack[stack.length - 1];
      if (top.arr) top.arr.push(value);
      else top.obj[top.key] = value;
      skip();
      const d = text[i++];
      if (d === ",") {
        if (top.obj) {
          top.key = string();
          expect(":");
        }
        break;
      }
      if (d !== (top.arr ? "]" : "}")) bad();
      stack.pop();
      value = top.arr ?? top.obj;
    }
  }
}

const isPlainObject = (v) => v !== null && typeof v === "object" && Object.getPrototypeOf(v) === null;

function wellFormed(s) {
  if (typeof s.toWellFormed === "function") return s.toWellFormed();
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** Reads a parsed batch line into { key, params, widths } (see the rules above); throws. */
function readBatchLine(obj, out) {
  if (!isPlainObject(obj)) fail("bad JSON: want an object");
  if (typeof obj.key === "string") out.key = wellFormed(obj.key);
  for (const field of Object.keys(obj)) {
    if (field !== "key" && field !== "params" && field !== "widths") {
      fail(`bad JSON: unknown field${describeName(field)} (want key, params, widths)`);
    }
  }
  if (typeof obj.key !== "string") fail('"key" must be a string (the object key)');
  if (!isWellFormed(obj.key)) fail("object key has an unpaired surrogate escape: it names no UTF-8 key");
  const params = Object.create(null);
  if (obj.params !== undefined && obj.params !== null) {
    if (!isPlainObject(obj.params)) fail('"params" must be an object of parameter names to values');
    for (const name of Object.keys(obj.params)) {
      const v = obj.params[name];
      if (typeof v === "string") params[name] = v;
      else if (v instanceof RawNumber) params[name] = v.text; // as written: 400.0 is not 400
      else fail(`parameter${describeName(name)}: want a string or a number`);
    }
  }
  let widths;
  if (obj.widths !== undefined && obj.widths !== null) {
    if (!Array.isArray(obj.widths)) fail('"widths" must be an array of whole numbers');
    widths = obj.widths.map((v) => {
      if (!(v instanceof RawNumber) || !POSITIVE_INT.test(v.text) || !Number.isSafeInteger(Number(v.text))) {
        fail("widths: want positive whole numbers without sign, decimals or exponent");
      }
      return Number(v.text);
    });
  }
  return { key: obj.key, params, widths };
}

/** Signs one batch line (a string, or null when it was not valid UTF-8); returns the output. */
function signBatchLine(line, ctx) {
  const out = { key: "" };
  try {
    if (line === null) fail("bad JSON: not valid UTF-8");
    if (BLANK.test(line)) fail("blank line: want one JSON object per line");
    let obj;
    try {
      obj = parseJsonLine(line);
    } catch (e) {
      if (e instanceof JsonError) fail("bad JSON: " + e.message);
      throw e;
    }
    const { key, params, widths } = readBatchLine(obj, out);
    for (const [name, value] of ctx.extra) {
      if (!Object.hasOwn(params, name)) params[name] = value;
    }
    out.url = sign(ctx.keyHex, key, params, ctx.baseUrl, ctx.options);
    if (widths !== undefined) out.srcset = srcset(ctx.keyHex, key, params, widths, ctx.baseUrl, ctx.options);
    return out;
  } catch (e) {
    return { key: out.key, error: e.message };
  }
}

// A blank line (JSON whitespace only) is an error line of its own: output line n answers input
// line n.
const BLANK = /^[ \t\r\n]*$/;

// JSON as Go's encoder writes it (internal/sign appendJSON): \b and \f as \u escapes, U+2028
// and U+2029 escaped, so that both signers' lines are the same bytes.
function goJSON(value) {
  return JSON.stringify(value)
    .replace(/\\(.)/g, (m, c) => (c === "b" ? "\\u0008" : c === "f" ? "\\u000c" : m))
    .replace(/[\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16));
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

async function runBatch(ctx, stdin, stdout) {
  let ok = true;
  let out = [];
  let outLen = 0;
  let lineNo = 0;
  const flush = async () => {
    if (out.length === 0) return;
    const chunk = out.join("");
    out = [];
    outLen = 0;
    if (!stdout.write(chunk)) {
      await new Promise((resolve) => stdout.once("drain", resolve));
    }
  };
  // Returns true when enough output is buffered to be written.
  const handle = (bytes) => {
    lineNo++;
    // Lines end at "\n"; a "\r" before it is dropped (as Go's bufio.Scanner does).
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    let line;
    try {
      line = decoder.decode(bytes);
    } catch {
      line = null;
    }
    const result = signBatchLine(line, ctx);
    if (result.error !== undefined) {
      ok = false;
      result.error = ctx.redact(`line ${lineNo}: ${result.error}`);
    }
    const text = goJSON(result) + "\n";
    out.push(text);
    outLen += text.length;
    return outLen >= 1 << 16;
  };
  let pending = Buffer.alloc(0);
  for await (const chunk of stdin) {
    const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let start = 0;
    let nl;
    while ((nl = buf.indexOf(0x0a, start)) >= 0) {
      if (handle(buf.subarray(start, nl))) await flush();
      start = nl + 1;
    }
    pending = buf.subarray(start);
  }
  if (pending.length > 0) handle(pending);
  await flush();
  return ok;
}

// ---------------------------------------------------------------------------------------------
// --expires, read as the Go CLI reads it: a Go duration (time.ParseDuration) or an RFC 3339 time.

const DURATION_UNITS = { ns: 1n, us: 1000n, "µs": 1000n, "μs": 1000n, ms: 1000000n, s: 1000000000n,
  m: 60000000000n, h: 3600000000000n };
const DURATION = /^[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$/u;
const DURATION_PART = /([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/gu;
const MAX_INT64 = (1n << 63n) - 1n;

/** Nanoseconds of a Go duration string ("1h30m", "1.5h", "-2s"), or null when it is not one. */
export function parseGoDuration(text) {
  if (text === "0" || text === "+0" || text === "-0") return 0n;
  if (!DURATION.test(text)) return null;
  let total = 0n;
  for (const [, whole, frac = "", unit] of text.matchAll(DURATION_PART)) {
    const u = DURATION_UNITS[unit];
    let v = BigInt(whole || "0") * u;
    if (frac !== "") v += (BigInt(frac) * u) / 10n ** BigInt(frac.length);
    total += v;
    if (total > MAX_INT64) return null;
  }
  return text.startsWith("-") ? -total : total;
}

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?(Z|([+-])([0-9]{2}):([0-9]{2}))$/;

/** Unix seconds of an RFC 3339 time as Go's time.Parse reads it, or null. */
export function parseRFC3339(text) {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const daysIn = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn || h > 23 || mi > 59 || sec > 59) return null;
  let offset = 0;
  if (m[8] !== "Z") {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return null;
    offset = (oh * 60 + om) * 60 * (m[9] === "-" ? -1 : 1);
  }
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0-99 as 1900-1999
  t.setUTCHours(h, mi, sec);
  return t.getTime() / 1000 - offset;
}

/** exp for --expires: unix seconds, from a duration from now or an RFC 3339 time. */
export function parseExpires(text, nowMs = Date.now()) {
  const d = parseGoDuration(text);
  if (d !== null) {
    if (d <= 0n) throw new UsageError(`--expires: want a positive duration`);
    return String((BigInt(nowMs) * 1000000n + d) / 1000000000n);
  }
  const t = parseRFC3339(text);
  if (t === null) {
    throw new UsageError("--expires: want a duration like 24h or an RFC 3339 time like 2027-01-01T00:00:00Z");
  }
  if (t * 1000 <= nowMs) throw new UsageError("--expires: that time is in the past");
  return String(t);
}

function makeRedactor(keys) {
  const patterns = keys.map((k) => new RegExp(k, "gi")); // keys are validated hex: no metacharacters
  return (msg) => patterns.reduce((m, re) => m.replace(re, "[redacted]"), String(msg));
}

/** Runs the command line; returns the exit code. */
export async function main(argv, { env = process.env, stdin = process.stdin, stdout = process.stdout,
  stderr = process.stderr } = {}) {
  let redact = (m) => m;
  try {
    const opts = parseArgs(argv);
    if (opts.help) {
      stdout.write(USAGE);
      return 0;
    }
    if (opts.batch && (opts.positional.length > 0 || opts.widths !== undefined)) {
      throw new UsageError("--batch reads everything from stdin: no object key, parameters or --widths");
    }
    if (!opts.batch && opts.positional.length === 0) throw new UsageError("missing object key");
    let maxOutputDim = DEFAULT_MAX_OUTPUT_DIM;
    if (opts.maxOutputDim !== undefined) {
      maxOutputDim = parsePositiveInt(opts.maxOutputDim, "--max-output-dim");
    } else if (env.IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM !== undefined &&
               env.IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM.trim() !== "") {
      maxOutputDim = parsePositiveInt(env.IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM.trim(),
        "IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM");
    }
    const widths = opts.widths === undefined ? undefined : parseWidths(opts.widths);
    const params = opts.batch ? undefined : parseParamArgs(opts.positional.slice(1));
    const extra = opts.expires === undefined ? [] : [["exp", parseExpires(opts.expires)]];
    const keys = loadKeys(opts, env);
    redact = makeRedactor(keys);
    const ctx = {
      keyHex: keys[0],
      baseUrl: normalizeBaseUrl(opts.baseUrl ?? env.IMGPROXY_SIGNING_BASE_URL ?? ""),
      options: { maxOutputDim },
      extra,
      redact,
    };
    if (opts.batch) return (await runBatch(ctx, stdin, stdout)) ? 0 : 1;
    const objectKey = opts.positional[0];
    if (extra.length > 0 && Object.hasOwn(params, "exp")) {
      throw new UsageError("exp=... and --expires both set the expiry: give one");
    }
    for (const [name, value] of extra) params[name] = value;
    const line = widths === undefined
      ? sign(ctx.keyHex, objectKey, params, ctx.baseUrl, ctx.options)
      : srcset(ctx.keyHex, objectKey, params, widths, ctx.baseUrl, ctx.options);
    stdout.write(line + "\n");
    return 0;
  } catch (e) {
    stderr.write(`sign: ${redact(e.message)}\n`);
    if (e instanceof UsageError) stderr.write("\n" + USAGE);
    return 1;
  }
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  process.stdout.on("error", (e) => {
    // A closed pipe (sign ... | head) is not worth a stack trace.
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
