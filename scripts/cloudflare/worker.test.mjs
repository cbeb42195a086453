// Tests for the edge verifier (worker.mjs) and the shared contract module (../imgproxy-url.mjs)
// in Node, with fetch replaced by a recorder: no origin is needed. The differential against a
// real `imgproxy serve` is worker-serve.test.mjs. Run with: node --test scripts/
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import worker, { requestTarget } from "./worker.mjs";
import { decodeSignature, base64url, parseTarget, verifyTarget, importKeys } from "../imgproxy-url.mjs";
import { sign } from "../sign.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const data = JSON.parse(readFileSync(join(here, "../../internal/urlsig/testdata/vectors.json"), "utf8"));
const KEY = data.key_hex;
const OTHER = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SECRET = "edge-to-origin-5b1f0c9e2a7d";
const ORIGIN = "http://127.0.0.1:9";
const HOST = "https://img.example.com";

let forwarded;
let realFetch;
beforeEach(() => {
  forwarded = [];
  realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    forwarded.push({ url, init });
    return new Response(init.method === "HEAD" ? null : "image", { status: 200, headers: { "X-From": "origin" } });
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

function envWith(extra = {}) {
  return { IMGPROXY_SIGNING_KEYS: `${OTHER},${KEY}`, IMGPROXY_ORIGIN: ORIGIN, IMGPROXY_ORIGIN_SECRET: SECRET, ...extra };
}
const ENV = envWith();

async function call(target, { method = "GET", headers = {}, env = ENV } = {}) {
  const res = await worker.fetch(new Request(HOST + target, { method, headers }), env, {});
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe("test vectors (internal/urlsig/testdata/vectors.json)", () => {
  for (const v of data.vectors) {
    test(v.url, async () => {
      const { status, body } = await call(v.url);
      assert.equal(status, 200, body);
      assert.equal(forwarded.length, 1);
      assert.equal(forwarded[0].url, ORIGIN + v.url); // byte for byte
      assert.equal(forwarded[0].init.headers.get("X-Origin-Secret"), SECRET);
      assert.deepEqual(forwarded[0].init.cf, { cacheEverything: true });
      const u = parseTarget(v.url);
      assert.equal(u.toSign, v.string_to_sign);
      assert.equal(u.key, v.object_key);
      // One bit of the signature, one byte of the URL, or the key: 403, never forwarded.
      const s = decodeSignature(v.s);
      s[31] ^= 1;
      const forged = v.url.replace(v.s, base64url(s));
      assert.equal((await call(forged)).status, 403);
      assert.equal((await call(v.url, { env: envWith({ IMGPROXY_SIGNING_KEYS: OTHER }) })).status, 403);
      assert.equal(forwarded.length, 1);
    });
  }
});

describe("canonical form: every rule of the contract, as the server answers it", () => {
  const good = sign(KEY, "photos/cat.jpg", { w: 400, fm: "webp" }); // /photos/cat.jpg?fm=webp&w=400&s=…
  const s = good.slice(good.indexOf("&s=") + 3);
  const signed = (key, params) => sign(KEY, key, params);
  const cases = [
    ["the canonical URL", good, 200],
    ["reordered parameters", `/photos/cat.jpg?w=400&fm=webp&s=${s}`, 400],
    ["s not last", `/photos/cat.jpg?s=${s}&fm=webp&w=400`, 400],
    ["%7E for ~", signed("a~b.jpg", {}).replace("~", "%7E"), 400],
    ["lower-case escape", signed("a*b.jpg", {}).replace("%2A", "%2a"), 400],
    ["escaped unreserved letter", `/photos/c%61t.jpg?fm=webp&w=400&s=${s}`, 400],
    ["stray parameter", `/photos/cat.jpg?fm=webp&r=123&w=400&s=${s}`, 400],
    ["duplicate parameter", `/photos/cat.jpg?fm=webp&w=400&w=400&s=${s}`, 400],
    ["empty value", `/photos/cat.jpg?fm=&w=400&s=${s}`, 400],
    ["parameter without =", `/photos/cat.jpg?fm&w=400&s=${s}`, 400],
    ["empty parameter", `/photos/cat.jpg?fm=webp&&w=400&s=${s}`, 400],
    ["trailing &", `/photos/cat.jpg?fm=webp&w=400&s=${s}&`, 400],
    ["empty query", "/photos/cat.jpg?", 400],
    ["+ for a space", signed("a b.jpg", {}).replace("%20", "+"), 400],
    ["upper-case name", `/photos/cat.jpg?fm=webp&W=400&s=${s}`, 400],
    ["escaped name", `/photos/cat.jpg?fm=webp&%77=400&s=${s}`, 400],
    ["s without =", "/photos/cat.jpg?fm=webp&w=400&s", 400],
    ["empty segment", `/photos//cat.jpg?fm=webp&w=400&s=${s}`, 400],
    ["trailing slash", `/photos/cat.jpg/?fm=webp&w=400&s=${s}`, 400],
    ["escaped slash", `/photos%2Fcat.jpg?fm=webp&w=400&s=${s}`, 400],
    ["escaped control byte", "/a%00b.jpg?s=" + s, 400],
    ["invalid UTF-8", "/a%C3.jpg?s=" + s, 400],
    ["encoded surrogate", "/a%ED%A0%80.jpg?s=" + s, 400],
    ["key over 1024 bytes", "/" + "x".repeat(1025) + "?s=" + s, 400],
    ["truncated escape", "/ab%2?s=" + s, 400],
    ["bad value, signed", signed("a.jpg", { w: 1 }).replace("w=1&", "w=0&"), 400],
    ["w·dpr over 8192, signed", `/a.jpg?dpr=2&w=4097&s=${s}`, 400],
    ["non-ASCII value", `/a.jpg?fm=w%C3%A9bp&s=${s}`, 400],
    // Without s, values are not read: the server answers 403 first.
    ["no s", "/photos/cat.jpg?fm=webp&w=400", 403],
    ["no s, bad value", "/photos/cat.jpg?w=0", 403],
    ["no query", "/photos/cat.jpg", 403],
    ["empty s", "/photos/cat.jpg?fm=webp&w=400&s=", 403],
    ["signature of another URL", `/photos/dog.jpg?fm=webp&w=400&s=${s}`, 403],
    ["signature with padding", `${good}=`, 403],
    ["signature one character short", good.slice(0, -1), 403],
    ["signature with set low bits", good.slice(0, -1) + String.fromCharCode(good.charCodeAt(good.length - 1) + 1), 403],
    ["expired", sign(KEY, "a.jpg", { exp: 1000000000 }), 410],
    ["exp 0", sign(KEY, "a.jpg", { exp: 0 }), 410],
    ["not yet expired", sign(KEY, "a.jpg", { exp: "999999999999999999" }), 200],
    ["expired, forged", sign(OTHER.replace("9f", "00"), "a.jpg", { exp: 1 }), 403],
    ["signed with the second key", sign(OTHER, "a.jpg", { w: 1 }), 200],
    ["Unicode key", sign(KEY, "Fotos/日本 😀.png", { w: 1 }), 200],
  ];
  for (const [name, target, want] of cases) {
    test(`${name}: ${want}`, async () => {
      const { status, body, headers } = await call(target);
      assert.equal(status, want, `${target}: ${body}`);
      if (want === 200) {
        assert.equal(forwarded.length, 1);
        return;
      }
      assert.equal(forwarded.length, 0, "a refused URL reached the origin");
      assert.equal(headers.get("Cache-Control"), "public, max-age=60");
      assert.equal(headers.get("Content-Type"), "text/plain; charset=utf-8");
      assert.ok(body.length < 200 && body.endsWith("\n") && !body.slice(0, -1).includes("\n"), body);
      assert.ok(!body.includes(KEY) && !body.includes(OTHER) && !body.includes(SECRET));
    });
  }
});

describe("requests that are not images", () => {
  test("methods other than GET and HEAD: 405 with Allow, never forwarded", async () => {
    const good = sign(KEY, "a.jpg", {});
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
      const { status, headers } = await call(good, { method });
      assert.equal(status, 405, method);
      assert.equal(headers.get("Allow"), "GET, HEAD");
      assert.equal(headers.get("Cache-Control"), "public, max-age=60");
    }
    assert.equal((await call("/healthz", { method: "POST" })).status, 405);
    assert.equal(forwarded.length, 0);
  });
  test("HEAD: refused with the headers and no body; forwarded as HEAD", async () => {
    const res = await worker.fetch(new Request(HOST + "/a.jpg?s=x", { method: "HEAD" }), ENV, {});
    assert.equal(res.status, 403);
    assert.equal(await res.text(), "");
    assert.equal(res.headers.get("Content-Length"), "14"); // "bad signature\n", as the origin's HEAD
    const ok = await call(sign(KEY, "a.jpg", {}), { method: "HEAD" });
    assert.equal(ok.status, 200);
    assert.equal(forwarded[0].init.method, "HEAD");
  });
  test("/healthz and /readyz are forwarded uncached, with any query, as the origin routes them", async () => {
    for (const t of ["/healthz", "/readyz", "/healthz?verbose", "/%68ealthz"]) {
      assert.equal((await call(t)).status, 200, t);
    }
    assert.deepEqual(forwarded.map((f) => f.url.slice(ORIGIN.length)), ["/healthz", "/readyz", "/healthz?verbose", "/%68ealthz"]);
    for (const f of forwarded) assert.equal(f.init.cf, undefined);
  });
  test("a malformed escape is 400 before anything, as Go's HTTP server answers it", async () => {
    assert.equal((await call("/a%zz.jpg", { method: "POST" })).status, 400);
    assert.equal((await call("/a%4")).status, 400);
  });
  test("a URL over 8 KiB is 414", async () => {
    assert.equal((await call("/" + "a".repeat(8192) + "?s=x")).status, 414);
    assert.equal((await call("/" + "a".repeat(1030) + "?s=x")).status, 400);
  });
  test("request headers pass; a client's own X-Origin-Secret does not", async () => {
    await call(sign(KEY, "a.jpg", { auto: "format" }), {
      headers: { Accept: "image/avif,image/webp", "If-None-Match": '"abc"', "X-Origin-Secret": "guess-guess-guess" },
    });
    const h = forwarded[0].init.headers;
    assert.equal(h.get("Accept"), "image/avif,image/webp");
    assert.equal(h.get("If-None-Match"), '"abc"');
    assert.equal(h.get("X-Origin-Secret"), SECRET);
    await call(sign(KEY, "a.jpg", {}), { env: envWith({ IMGPROXY_ORIGIN_SECRET: undefined }), headers: { "X-Origin-Secret": "guess-guess-guess" } });
    assert.equal(forwarded[1].init.headers.get("X-Origin-Secret"), null);
  });
  test("the origin's answer is passed through as it is", async () => {
    globalThis.fetch = async () => new Response(null, { status: 304, headers: { ETag: '"e"', "Cache-Control": "public, max-age=31536000, immutable" } });
    const res = await worker.fetch(new Request(HOST + sign(KEY, "a.jpg", {}), { headers: { "If-None-Match": '"e"' } }), ENV, {});
    assert.equal(res.status, 304);
    assert.equal(res.headers.get("ETag"), '"e"');
    assert.equal(res.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
  });
  test("an unreachable origin is 502 no-store", async () => {
    globalThis.fetch = async () => {
      throw new TypeError("fetch failed");
    };
    const { status, headers } = await call(sign(KEY, "a.jpg", {}));
    assert.equal(status, 502);
    assert.equal(headers.get("Cache-Control"), "no-store");
  });
});

describe("path prefix (IMGPROXY_PATH_PREFIX, as server.path_prefix)", () => {
  const env = envWith({ IMGPROXY_PATH_PREFIX: "/img/" });
  test("cut before verifying, kept when forwarding", async () => {
    const t = "/img" + sign(KEY, "a.jpg", { w: 1 });
    assert.equal((await call(t, { env })).status, 200);
    assert.equal(forwarded[0].url, ORIGIN + t);
  });
  test("outside it: 404; health checks stay at the root", async () => {
    for (const t of [sign(KEY, "a.jpg", {}), "/imgx/a.jpg?s=x", "/img?s=x", "/im"]) {
      assert.equal((await call(t, { env })).status, 404, t);
    }
    assert.equal((await call("/healthz", { env })).status, 200);
    assert.equal(forwarded.length, 1);
  });
});

describe("configuration", () => {
  const cases = [
    ["no keys", { IMGPROXY_SIGNING_KEYS: undefined }, /IMGPROXY_SIGNING_KEYS is not set/],
    ["blank keys", { IMGPROXY_SIGNING_KEYS: " , " }, /IMGPROXY_SIGNING_KEYS is not set/],
    ["no origin", { IMGPROXY_ORIGIN: "" }, /IMGPROXY_ORIGIN is not set/],
    ["origin not a URL", { IMGPROXY_ORIGIN: "origin.example.com" }, /IMGPROXY_ORIGIN must be/],
    ["short key", { IMGPROXY_SIGNING_KEYS: `${KEY},0011223344556677` }, /IMGPROXY_SIGNING_KEYS: key 2: .*at least 32/],
    ["key not hex", { IMGPROXY_SIGNING_KEYS: KEY.replace("0", "x") }, /key 1: .*must be hex/],
    ["short origin secret", { IMGPROXY_ORIGIN_SECRET: "short-secret" }, /IMGPROXY_ORIGIN_SECRET is shorter than 16/],
    ["bad prefix", { IMGPROXY_PATH_PREFIX: "img" }, /IMGPROXY_PATH_PREFIX/],
    ["bad max dim", { IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM: "0" }, /IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM/],
  ];
  for (const [name, extra, re] of cases) {
    test(`${name}: 500 naming the setting, never a secret`, async () => {
      const env = envWith(extra);
      for (const method of ["GET", "POST"]) {
        const { status, body, headers } = await call(sign(KEY, "a.jpg", {}), { env, method });
        assert.equal(status, 500);
        assert.match(body, re);
        assert.equal(headers.get("Cache-Control"), "no-store");
        for (const secret of [KEY, OTHER, SECRET, "short-secret", "0011223344556677", KEY.replace("0", "x")]) {
          assert.ok(!body.includes(secret), `body holds a secret: ${body}`);
        }
      }
      assert.equal(forwarded.length, 0);
    });
  }
  test("both missing: both named", async () => {
    const { status, body } = await call("/a.jpg", { env: {} });
    assert.equal(status, 500);
    assert.match(body, /IMGPROXY_SIGNING_KEYS is not set.*IMGPROXY_ORIGIN is not set/);
  });
  test("a fixed secret takes effect on the next request", async () => {
    const env = envWith({ IMGPROXY_SIGNING_KEYS: "" });
    assert.equal((await call(sign(KEY, "a.jpg", {}), { env })).status, 500);
    env.IMGPROXY_SIGNING_KEYS = KEY;
    assert.equal((await call(sign(KEY, "a.jpg", {}), { env })).status, 200);
  });
  test("max_output_dim follows the server's", async () => {
    const env = envWith({ IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM: "100" });
    assert.equal((await call(sign(KEY, "a.jpg", { w: 100 }), { env })).status, 200);
    assert.equal((await call(sign(KEY, "a.jpg", { w: 101 }, "", { maxOutputDim: 101 }), { env })).status, 400);
  });
});

describe("requestTarget: the path and query as the URL carries them", () => {
  for (const [url, want] of [
    ["https://h/a.jpg?", "/a.jpg?"],
    ["https://h/a.jpg?w=1&s=x", "/a.jpg?w=1&s=x"],
    ["https://h:8443/a%7e.jpg?x#frag", "/a%7e.jpg?x"],
    ["https://h", "/"],
  ]) {
    test(url, () => assert.equal(requestTarget(url), want));
  }
  test("what Request normalises never reaches the verifier in another form", async () => {
    // A raw space or é is escaped by the URL parser (upper-case hex, as the contract wants);
    // the Worker verifies and forwards exactly that serialisation.
    const t = sign(KEY, "é b.jpg", {});
    await call(t.replace("%C3%A9", "é"));
    assert.equal(forwarded[0].url, ORIGIN + t);
  });
});

describe("one module for signer and verifier", () => {
  test("everything sign.mjs mints verifies, with any of the keys; a changed byte does not", async () => {
    const keys = await importKeys([OTHER, KEY]);
    const rnd = mulberry32(7);
    const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
    const chars = ["a", "Z", "0", "-", ".", "_", "~", " ", "+", "%", "é", "日", "😀", "(", "!", "?", "&", "=", "#"];
    for (let i = 0; i < 2000; i++) {
      let key = "";
      for (let n = 1 + Math.floor(rnd() * 12); n > 0; n--) key += pick(chars);
      if (rnd() < 0.3) key += "/" + pick(["x.jpg", "ä.png", "1"]);
      const params = {};
      if (rnd() < 0.7) params.w = 1 + Math.floor(rnd() * 2000);
      if (rnd() < 0.3) params.h = 1 + Math.floor(rnd() * 2000);
      if (rnd() < 0.3) params.fm = pick(["jpg", "png", "webp", "avif", "gif"]);
      if (rnd() < 0.2) params.dpr = pick(["1", "1.5", "2", "3.25"]);
      if (rnd() < 0.2) params.bg = pick(["ffffff", "00000080"]);
      if (rnd() < 0.2) params.v = pick(["a", "5d41402a", "X_-1"]);
      if (rnd() < 0.1) params.exp = "4102444800";
      let url;
      try {
        url = sign(pick([OTHER, KEY]), key, params);
      } catch {
        continue; // a key the contract refuses ("." segment and friends)
      }
      const v = await verifyTarget(url, keys);
      assert.equal(v.status, 200, `${url}: ${v.message}`);
      assert.equal(v.key, key);
      const j = Math.floor(rnd() * (url.lastIndexOf("s=")));
      const mutated = url.slice(0, j) + (url[j] === "A" ? "B" : "A") + url.slice(j + 1);
      assert.notEqual((await verifyTarget(mutated, keys)).status, 200, mutated);
    }
  });
});

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
