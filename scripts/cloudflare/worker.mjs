// Edge verifier for imgproxy: a Cloudflare Worker that refuses, at the edge, every URL the origin
// would refuse (400 not canonical or a bad value, 403 unsigned or forged, 410 expired, 405 other
// methods), so that a forged URL never crosses the internet to the origin, and forwards the
// rest, path and query byte for byte, to the origin through Cloudflare's cache.
//
// Configuration (wrangler.toml beside this file; README.md, "Behind Cloudflare"):
//   IMGPROXY_SIGNING_KEYS   secret: the server's keys, comma-separated hex (all verify)
//   IMGPROXY_ORIGIN         the origin's base URL, https://origin.example.com
//   IMGPROXY_ORIGIN_SECRET  secret, optional: sent as X-Origin-Secret (server.origin_secret)
//   IMGPROXY_PATH_PREFIX    optional: the server's server.path_prefix, such as /img
//   IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM  optional: the server's transform.max_output_dim (8192)
//
// The rules are the signer's own (../imgproxy-url.mjs, shared with ../sign.mjs), checked in the
// server's order; tests run this file in Node against a real `imgproxy serve`
// (worker.test.mjs, worker-serve.test.mjs).

import { ContractError, importKeys, verifyTarget } from "../imgproxy-url.mjs";

/** The header that tells the origin a request came through the CDN (server.origin_secret). */
export const ORIGIN_SECRET_HEADER = "X-Origin-Secret";

// The server's bound on the request target (longer ones are 414).
const MAX_URI = 8 << 10;
const MIN_ORIGIN_SECRET = 16;

export default {
  async fetch(request, env, ctx) {
    void ctx; // never ctx.passThroughOnException(): an exception must not open the origin
    let cfg;
    try {
      cfg = await config(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return text(500, `edge verifier misconfigured: ${e.message}`, "no-store");
    }
    const res = await handle(request, cfg);
    // The Worker's own answers to HEAD keep their headers and drop the body, as the origin's.
    if (request.method === "HEAD" && res.body !== null && res.headers.has("X-Edge")) {
      return new Response(null, res);
    }
    return res;
  },
};

async function handle(request, cfg) {
  const full = requestTarget(request.url);
  const rawPath = full.split("?", 1)[0];
  const path = decodePath(rawPath);
  if (path === null) return refuse(400, "malformed escape in path");
  const method = request.method;
  const readOnly = method === "GET" || method === "HEAD";
  // Health checks are at the root, as at the origin (which answers them without the secret):
  // forwarded uncached, so a monitor pointed at the public hostname sees the origin's state.
  if (path === "/healthz" || path === "/readyz") {
    if (!readOnly) return methodNotAllowed();
    return forward(request, cfg, full, false);
  }
  let target = full;
  if (cfg.prefix !== "") {
    if (!full.startsWith(cfg.prefix) || full[cfg.prefix.length] !== "/") {
      return refuse(404, "not found: outside the path prefix");
    }
    target = full.slice(cfg.prefix.length);
  }
  if (!readOnly) return methodNotAllowed();
  if (target.length > MAX_URI) return refuse(414, "URL too long");
  const v = await verifyTarget(target, cfg.keys, { maxOutputDim: cfg.maxOutputDim });
  if (v.status !== 200) return refuse(v.status, v.message);
  return forward(request, cfg, full, true);
}

/**
 * The request target (path and query) exactly as the URL carries it: sliced from the
 * serialized URL rather than rebuilt from URL parts, which would drop an empty query ("?").
 */
export function requestTarget(url) {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const hash = url.indexOf("#", start);
  return hash < 0 ? url.slice(start) : url.slice(start, hash);
}

// The path with every %XX decoded (either case), as the origin's router reads it to find
// /healthz and /readyz; null for a malformed escape, which the origin's HTTP server refuses.
function decodePath(p) {
  if (!p.includes("%")) return p;
  let out = "";
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== "%") {
      out += p[i];
      continue;
    }
    const hex = p.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
    out += String.fromCharCode(parseInt(hex, 16));
    i += 2;
  }
  return out;
}

async function forward(request, cfg, target, cache) {
  const headers = new Headers(request.headers);
  // A client's own X-Origin-Secret never passes through; only the configured one.
  headers.delete(ORIGIN_SECRET_HEADER);
  if (cfg.originSecret !== "") headers.set(ORIGIN_SECRET_HEADER, cfg.originSecret);
  const init = { method: request.method, headers, redirect: "manual" };
  // Cloudflare's own cache, in front of the origin: it keeps what the origin's Cache-Control
  // allows (a year for v= URLs, a day without), answers HEAD and If-None-Match from it, and is
  // tiered and purgeable. cacheEverything: even keys without an image extension are cached.
  // Health checks get no cf options: without an image extension, and answered no-store, they
  // are never cached.
  if (cache) init.cf = { cacheEverything: true };
  try {
    return await fetch(cfg.origin + target, init);
  } catch {
    return text(502, "origin unreachable", "no-store");
  }
}

function refuse(status, message) {
  // As the origin's 4xx: a short public lifetime, so repeats are absorbed without pinning a
  // mistake for long.
  return text(status, message, "public, max-age=60");
}

function methodNotAllowed() {
  const res = refuse(405, "only GET and HEAD");
  res.headers.set("Allow", "GET, HEAD");
  return res;
}

function text(status, message, cacheControl) {
  const body = message + "\n";
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(new TextEncoder().encode(body).length),
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": cacheControl,
      // Says who answered: the Worker, without asking the origin.
      "X-Edge": "worker",
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Configuration, read once per env object (an isolate keeps it across requests).

class ConfigError extends Error {}

const configs = new WeakMap();

function config(env) {
  if (env === null || typeof env !== "object") return Promise.reject(new ConfigError("no environment"));
  let c = configs.get(env);
  if (c === undefined) {
    c = readConfig(env);
    configs.set(env, c);
    // A failed read is not kept: fixing a secret takes effect on the next request.
    c.catch(() => configs.delete(env));
  }
  return c;
}

function setting(env, name) {
  const v = env[name];
  return typeof v === "string" ? v.trim() : "";
}

async function readConfig(env) {
  const problems = [];
  const keyList = setting(env, "IMGPROXY_SIGNING_KEYS").split(",").map((k) => k.trim()).filter((k) => k !== "");
  let keys = null;
  if (keyList.length === 0) {
    problems.push("IMGPROXY_SIGNING_KEYS is not set (wrangler secret put IMGPROXY_SIGNING_KEYS)");
  } else {
    try {
      keys = await importKeys(keyList, "IMGPROXY_SIGNING_KEYS");
    } catch (e) {
      if (!(e instanceof ContractError)) throw e;
      problems.push(e.message); // names the key by position, never its value
    }
  }
  const origin = setting(env, "IMGPROXY_ORIGIN").replace(/\/+$/, "");
  if (origin === "") {
    problems.push("IMGPROXY_ORIGIN is not set (the origin's base URL, https://origin.example.com)");
  } else if (!/^https?:\/\/[^/?#@\s]+(?:\/[^?#\s]*)?$/.test(origin)) {
    problems.push("IMGPROXY_ORIGIN must be an http:// or https:// base URL without query or fragment");
  }
  const originSecret = setting(env, "IMGPROXY_ORIGIN_SECRET");
  if (originSecret !== "" && originSecret.length < MIN_ORIGIN_SECRET) {
    problems.push(`IMGPROXY_ORIGIN_SECRET is shorter than ${MIN_ORIGIN_SECRET} characters`);
  }
  const prefix = setting(env, "IMGPROXY_PATH_PREFIX").replace(/\/+$/, "");
  if (prefix !== "" && !/^(?:\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    problems.push("IMGPROXY_PATH_PREFIX must be /segment[/segment...] of A-Z a-z 0-9 - . _ ~");
  }
  let maxOutputDim;
  const dim = setting(env, "IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM");
  if (dim !== "") {
    maxOutputDim = Number(dim);
    if (!/^[1-9][0-9]{0,5}$/.test(dim) || maxOutputDim > 65536) {
      problems.push("IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM must be a whole number from 1 to 65536");
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  return { keys, origin, originSecret, prefix, maxOutputDim };
}
