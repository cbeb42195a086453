// The imgproxy v1 URL contract (README.md, "The URL contract"), once, for JavaScript: canonical
// encoding, object key and parameter rules, the string to sign, and the strict parser and
// verifier that refuse what the Go server (internal/urlsig, internal/params) refuses, with the
// same status.
//
// Used by the signer (scripts/sign.mjs, Node) and the edge verifier (scripts/cloudflare/
// worker.mjs, a Cloudflare Worker), so it imports nothing: no node: modules, no Buffer. HMAC is
// WebCrypto (globalThis.crypto.subtle, in Workers and Node 18+); sign.mjs, whose API is
// synchronous, computes the same HMAC with node:crypto over the string to sign made here.
//
// Error messages name the problem but never contain a signing key, and never echo parameter
// values or object keys.

export const MIN_KEY_BYTES = 32;
export const MAX_OBJECT_KEY_BYTES = 1024;
export const DEFAULT_MAX_OUTPUT_DIM = 8192;

/** Every parameter name of the v1 contract, sorted bytewise. `s` is not a parameter. */
export const PARAM_NAMES = Object.freeze([
  "auto", "bg", "blur", "dpr", "enlarge", "exp", "fit", "flip", "fm",
  "h", "position", "q", "rot", "sharpen", "v", "w",
]);
const KNOWN = new Set(PARAM_NAMES);

/** Thrown for anything the contract refuses; status is what the server answers for it. */
export class ContractError extends Error {
  constructor(message, status = 400) {
    super(message);
    this.status = status;
  }
}

function fail(message) {
  throw new ContractError(message);
}

// ---------------------------------------------------------------------------------------------
// Canonical encoding

const HEX = "0123456789ABCDEF";
const UNRESERVED = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  UNRESERVED[c] =
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
      ? 1
      : 0;
}
const ALL_UNRESERVED = /^[A-Za-z0-9._~-]*$/;
const PATH_UNRESERVED = /^[A-Za-z0-9._~/-]*$/;
const utf8 = new TextEncoder();

function escapeBytes(s, keepSlash) {
  let out = "";
  for (const b of utf8.encode(s)) {
    out += UNRESERVED[b] || (keepSlash && b === 0x2f) ? String.fromCharCode(b) : "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/**
 * Percent-encodes s byte by byte over its UTF-8 bytes: A-Z a-z 0-9 - . _ ~ stay literal, every
 * other byte becomes %XX with upper-case hex. (encodeURIComponent differs: it leaves !'()* alone.)
 */
export function escapeComponent(s) {
  return ALL_UNRESERVED.test(s) ? s : escapeBytes(s, false);
}

/** "/" + the object key with each segment escaped (the same as escaping with "/" kept literal). */
export function canonicalPath(objectKey) {
  return "/" + (PATH_UNRESERVED.test(objectKey) ? objectKey : escapeBytes(objectKey, true));
}

/** The canonical query of a Map of parameters: names sorted bytewise, values escaped, no s. */
export function canonicalQuery(params) {
  // Parameter names are ASCII, where UTF-16 order is byte order.
  const names = params.size === 1 ? [...params.keys()] : [...params.keys()].sort();
  let out = "";
  for (const name of names) {
    out += (out === "" ? "" : "&") + name + "=" + escapeComponent(params.get(name));
  }
  return out;
}

/**
 * The string to sign for an object key and a Map of validated parameters: the canonical path,
 * plus "?" and the canonical query when there are parameters. The key is checked here.
 */
export function canonicalToSign(objectKey, params) {
  checkObjectKey(objectKey);
  const path = canonicalPath(objectKey);
  return params.size === 0 ? path : path + "?" + canonicalQuery(params);
}

/** The signed path and query: the string to sign, then s last. */
export function withSignature(toSign, s) {
  return toSign + (toSign.includes("?") ? "&s=" : "?s=") + s;
}

// ---------------------------------------------------------------------------------------------
// Signing keys

const HEX_KEY = /^(?:[0-9a-fA-F]{2})+$/;

/** Decodes and checks a hex signing key into bytes. Messages never contain the key. */
export function decodeKeyHex(keyHex) {
  if (typeof keyHex !== "string") fail("signing key must be a hex string");
  if (keyHex === "") fail("signing key is empty");
  if (!HEX_KEY.test(keyHex)) {
    fail("signing key must be hex (0-9, a-f) with an even number of digits");
  }
  const n = keyHex.length / 2;
  if (n < MIN_KEY_BYTES) {
    fail(`signing key is ${n} bytes, at least ${MIN_KEY_BYTES} are needed`);
  }
  const key = new Uint8Array(n);
  for (let i = 0; i < n; i++) key[i] = parseInt(keyHex.slice(2 * i, 2 * i + 2), 16);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Object keys

function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isWellFormed(s) {
  if (typeof s.isWellFormed === "function") return s.isWellFormed();
  return !/\p{Cs}/u.test(s);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
// An empty, "." or ".." segment; group 1 is the segment.
const BAD_SEGMENT = /(?:^|\/)(\.{0,2})(?:\/|$)/;

/** Checks an object key against the contract; throws a ContractError naming the problem. */
export function checkObjectKey(objectKey) {
  if (typeof objectKey !== "string") fail("object key must be a string");
  if (objectKey === "") fail("object key is empty");
  if (objectKey.startsWith("/")) {
    fail("object key starts with a slash: drop it; the URL adds it");
  }
  if (!isWellFormed(objectKey)) fail("object key is not well-formed Unicode (lone surrogate)");
  const n = utf8Length(objectKey);
  if (n > MAX_OBJECT_KEY_BYTES) {
    fail(`object key is ${n} bytes, more than ${MAX_OBJECT_KEY_BYTES}`);
  }
  const m = CONTROL.exec(objectKey);
  if (m) {
    const c = m[0].charCodeAt(0);
    fail(`object key contains control byte 0x${c.toString(16).padStart(2, "0")}`);
  }
  const bad = BAD_SEGMENT.exec(objectKey);
  if (bad) {
    const seg = bad[1];
    if (seg === "") fail("object key has an empty path segment (leading, trailing or double slash)");
    fail(`object key has a "${seg}" path segment`);
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter values (internal/params/parse.go)

export const POSITIVE_INT = /^[1-9][0-9]*$/;
const NON_NEGATIVE_INT = /^(?:0|[1-9][0-9]*)$/;
// Canonical decimal: integer part without leading zeros, at most two decimals, no trailing zero.
const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]?[1-9]))?$/;
const BG = /^[0-9a-f]{6}(?:[0-9a-f]{2})?$/;
const VERSION = /^[A-Za-z0-9_-]{1,64}$/;
// exp as the Go server parses it: unix seconds, at most 18 digits.
const MAX_EXP_DIGITS = 18;

/** Value of a canonical decimal in hundredths (BigInt), or null when not canonical. */
export function hundredths(v) {
  const m = DECIMAL.exec(v);
  if (!m) return null;
  const frac = m[2] === undefined ? 0n : BigInt(m[2].padEnd(2, "0"));
  return BigInt(m[1]) * 100n + frac;
}

function decimalRule(name, v, lo, hi, text) {
  const x = hundredths(v);
  if (x === null) {
    fail(`parameter "${name}" must be a number ${text} with at most 2 decimals, ` +
      `no sign, no leading or trailing zeros`);
  }
  if (x < lo || x > hi) fail(`parameter "${name}" must be ${text}`);
}

function oneOf(name, v, allowed) {
  if (!allowed.includes(v)) {
    fail(`parameter "${name}" must be ${allowed.length === 1 ? "" : "one of "}${allowed.join(", ")}`);
  }
}

/**
 * A name for a message: echoed only when it is short and printable (a typo such as "width"); a
 * long string could be something secret pasted in the wrong place.
 */
export function describeName(name) {
  return /^[\x21-\x7e]{1,12}$/.test(name) ? ` "${name}"` : " name";
}

/** transform.max_output_dim from options ({ maxOutputDim }), as a BigInt. */
export function maxOutputDim(options) {
  const max = options?.maxOutputDim ?? DEFAULT_MAX_OUTPUT_DIM;
  if (!Number.isSafeInteger(max) || max < 1) fail("maxOutputDim must be a positive integer");
  return BigInt(max);
}

/**
 * Converts params (an object of strings or numbers; undefined and null values are skipped) into
 * a Map name -> string value, checks every name and value against the contract, and returns it.
 */
export function normalizeParams(params, options) {
  const out = new Map();
  if (params === undefined || params === null) return out;
  if (typeof params !== "object" || Array.isArray(params)) {
    fail("params must be an object of parameter names to values");
  }
  for (const name of Object.keys(params)) {
    const raw = params[name];
    if (raw === undefined || raw === null) continue;
    if (name === "s") fail('parameter "s" is not allowed: the signer adds the signature');
    if (!KNOWN.has(name)) fail(`unknown parameter${describeName(name)}`);
    let v;
    if (typeof raw === "string") {
      v = raw;
    } else if (typeof raw === "number") {
      if (!Number.isFinite(raw)) fail(`parameter "${name}" must be a finite number`);
      v = String(raw);
    } else if (typeof raw === "bigint") {
      v = String(raw);
    } else {
      fail(`parameter "${name}" must be a string or a number`);
    }
    if (v === "") fail(`parameter "${name}" has an empty value`);
    out.set(name, v);
  }
  checkParams(out, maxOutputDim(options));
  return out;
}

/**
 * Checks every value of a Map of known parameter names against the contract, and w·dpr and h·dpr
 * against maxDim (a BigInt). Throws a ContractError (400) for the first bad one.
 */
export function checkParams(p, maxDim) {
  for (const [name, v] of p) {
    switch (name) {
      case "w":
      case "h":
        if (!POSITIVE_INT.test(v)) {
          fail(`parameter "${name}" must be a whole number from 1, without sign or leading zeros`);
        }
        break;
      case "dpr":
        decimalRule(name, v, 100n, 400n, "from 1 to 4");
        break;
      case "fit":
        oneOf(name, v, ["cover", "contain", "fill", "inside", "outside"]);
        break;
      case "position":
        oneOf(name, v, ["center", "top", "right", "bottom", "left", "smart"]);
        break;
      case "enlarge":
        oneOf(name, v, ["1"]);
        break;
      case "fm":
        oneOf(name, v, ["jpg", "png", "webp", "avif", "gif"]);
        break;
      case "auto":
        oneOf(name, v, ["format"]);
        break;
      case "q":
        if (!POSITIVE_INT.test(v) || v.length > 3 || Number(v) > 100) {
          fail(`parameter "q" must be a whole number from 1 to 100, without sign or leading zeros`);
        }
        break;
      case "blur":
        decimalRule(name, v, 30n, 10000n, "from 0.3 to 100");
        break;
      case "sharpen":
        decimalRule(name, v, 30n, 1000n, "from 0.3 to 10");
        break;
      case "rot":
        oneOf(name, v, ["90", "180", "270"]);
        break;
      case "flip":
        oneOf(name, v, ["h", "v", "hv"]);
        break;
      case "bg":
        if (!BG.test(v)) fail(`parameter "bg" must be 6 or 8 lower-case hex digits (RRGGBB or RRGGBBAA)`);
        break;
      case "v":
        if (!VERSION.test(v)) fail(`parameter "v" must be 1 to 64 characters of A-Z a-z 0-9 _ -`);
        break;
      case "exp":
        if (!NON_NEGATIVE_INT.test(v) || v.length > MAX_EXP_DIGITS) {
          fail(`parameter "exp" must be unix seconds: a whole number without sign or leading ` +
            `zeros, at most ${MAX_EXP_DIGITS} digits`);
        }
        break;
      default:
        fail(`unknown parameter${describeName(name)}`);
    }
  }
  // Limits apply to the product with dpr, rounded half up: floor((n * dpr100 + 50) / 100).
  const dpr = p.has("dpr") ? hundredths(p.get("dpr")) : 100n;
  for (const name of ["w", "h"]) {
    if (!p.has(name)) continue;
    const product = (BigInt(p.get(name)) * dpr + 50n) / 100n;
    if (product > maxDim) {
      fail(dpr === 100n
        ? `parameter "${name}" must be at most ${maxDim} (max_output_dim)`
        : `parameter "${name}" times dpr must be at most ${maxDim} (max_output_dim)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing a request target (internal/urlsig/parse.go): byte for byte canonical, or refused.

const HEXVAL = (c) =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x41 + 10 : -1; // upper case only

/**
 * Decodes a canonically escaped segment or value into a binary string (one char per byte):
 * only unreserved bytes and %XX escapes, in upper-case hex, of bytes that are not unreserved.
 */
function unescapeCanonical(s) {
  if (ALL_UNRESERVED.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= s.length) fail("truncated escape");
      const hi = HEXVAL(s.charCodeAt(i + 1));
      const lo = HEXVAL(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) fail("an escape must be %XX with upper-case hex");
      const b = (hi << 4) | lo;
      if (UNRESERVED[b]) fail(`"${s.slice(i, i + 3)}" must be written as "${String.fromCharCode(b)}"`);
      out += String.fromCharCode(b);
      i += 2;
      continue;
    }
    if (c > 0xff || !UNRESERVED[c]) {
      fail(c < 0x80 && c > 0x20 ? `"${s[i]}" must be escaped` : "a byte must be escaped");
    }
    out += s[i];
  }
  return out;
}

const strictUTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function binaryToString(bin) {
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  try {
    return strictUTF8.decode(bytes);
  } catch {
    return fail("object key is not valid UTF-8");
  }
}

/**
 * Parses a request target (path and optional query, as sent on the wire) and checks that it is
 * byte for byte canonical. Returns { key, params (Map, values as binary strings), toSign, sig }
 * with sig "" when there is none; throws a ContractError (400) for anything non-canonical.
 */
export function parseTarget(target) {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  if (!path.startsWith("/")) fail("path must start with /");
  const segments = path.slice(1).split("/");
  if (segments.includes("")) fail("object key has an empty path segment");
  const key = segments.length === 1 && ALL_UNRESERVED.test(segments[0])
    ? segments[0]
    : binaryToString(segments.map((seg) => {
      const dec = unescapeCanonical(seg);
      if (dec.includes("/")) fail('a path segment contains an escaped "/"');
      return dec;
    }).join("/"));
  checkObjectKey(key);
  const params = new Map();
  if (q < 0) return { key, params, toSign: target, sig: "" };
  const query = target.slice(q + 1);
  if (query === "") fail('empty query after "?"');
  if (query.endsWith("&")) fail("empty parameter in query");
  let prev = "";
  let sig = "";
  let toSign = path;
  const parts = query.split("&");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name === "s") {
      if (i !== parts.length - 1) fail("s must be the last parameter");
      if (eq < 0) fail('parameter "s" has no value');
      sig = part.slice(eq + 1);
      break;
    }
    if (eq < 0) fail(part === "" ? "empty parameter in query" : `parameter${describeName(part)} has no value`);
    if (!KNOWN.has(name)) fail(`unknown parameter${describeName(name)}`);
    if (name <= prev) {
      if (name === prev) fail(`duplicate parameter "${name}"`);
      fail(`parameter "${name}" must come before "${prev}" (names are sorted)`);
    }
    const value = part.slice(eq + 1);
    if (value === "") fail(`parameter "${name}" has an empty value`);
    params.set(name, unescapeCanonical(value));
    prev = name;
    toSign += (params.size === 1 ? "?" : "&") + part;
  }
  return { key, params, toSign, sig };
}

// ---------------------------------------------------------------------------------------------
// Signatures: s = base64url_nopad(HMAC-SHA256(key, string to sign)), with WebCrypto.

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64VAL[B64URL.charCodeAt(i)] = i;

/** base64url without padding. */
export function base64url(bytes) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63] + B64URL[n & 63];
  }
  if (i + 1 === bytes.length) {
    out += B64URL[bytes[i] >> 2] + B64URL[(bytes[i] & 3) << 4];
  } else if (i + 2 === bytes.length) {
    const n = (bytes[i] << 8) | bytes[i + 1];
    out += B64URL[n >> 10] + B64URL[(n >> 4) & 63] + B64URL[(n & 15) << 2];
  }
  return out;
}

/**
 * Decodes s strictly: 43 base64url characters whose unused low bits are zero (otherwise four
 * spellings of one signature would all verify), into 32 bytes; null for anything else.
 */
export function decodeSignature(s) {
  if (s.length !== 43) return null;
  const out = new Uint8Array(32);
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < 43; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64VAL[c] : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return (acc & ((1 << bits) - 1)) === 0 ? out : null;
}

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error("WebCrypto (crypto.subtle) is not available: Node 18+ or a Worker is needed");
  return s;
}

/**
 * Imports hex signing keys (the first signs, all verify) as WebCrypto HMAC-SHA256 keys. A bad
 * key is reported by position, never by value.
 */
export async function importKeys(hexKeys, what = "signing keys") {
  if (hexKeys.length === 0) fail(`no key in ${what}`);
  const raw = hexKeys.map((k, i) => {
    try {
      return decodeKeyHex(k);
    } catch (e) {
      throw new ContractError(`${what}: key ${i + 1}: ${e.message}`);
    }
  });
  return Promise.all(raw.map((k) =>
    subtle().importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])));
}

/** s for a string to sign, with a WebCrypto HMAC key. */
export async function signatureOf(cryptoKey, toSign) {
  return base64url(new Uint8Array(await subtle().sign("HMAC", cryptoKey, utf8.encode(toSign))));
}

/**
 * Verifies a request target as the server does, in its order: canonical form (400), a signature
 * present (403), parameter values (400), the signature under any of keys (403), exp (410).
 * Returns { status: 200, key, params, toSign } or { status, message } for a refusal.
 * options: { maxOutputDim, nowMs }.
 */
export async function verifyTarget(target, keys, options = {}) {
  let u;
  try {
    u = parseTarget(target);
    // A URL without s is refused as unsigned before its values are read (as the server does).
    if (u.sig === "") return { status: 403, message: "missing signature" };
    checkParams(u.params, maxOutputDim(options));
  } catch (e) {
    if (e instanceof ContractError) return { status: 400, message: e.message };
    throw e;
  }
  const got = decodeSignature(u.sig);
  let match = false;
  if (got !== null) {
    const data = utf8.encode(u.toSign);
    // Every key is tried; each comparison is WebCrypto's, in constant time.
    const results = await Promise.all(keys.map((k) => subtle().verify("HMAC", k, got, data)));
    match = results.includes(true);
  }
  if (!match) return { status: 403, message: "bad signature" };
  const exp = u.params.get("exp");
  const nowMs = options.nowMs ?? Date.now();
  if (exp !== undefined && BigInt(exp) * 1000n <= BigInt(Math.floor(nowMs))) {
    return { status: 410, message: "URL expired" };
  }
  return { status: 200, key: u.key, params: u.params, toSign: u.toSign };
}
