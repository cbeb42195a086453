// The edge verifier against the real origin: a built `imgproxy serve` on loopback (a directory
// origin, two keys, server.origin_secret), reached by the Worker through a counting proxy that
// stands for the internet between the edge and the origin.
//
// - Differential: 12,000 generated and mutated URLs (reordered, re-encoded, padded, truncated,
//   Unicode keys, expired, bad values, forged) go to the Worker; each one it forwards is answered
//   by the server, and each one it refuses is sent to the server directly. The verdict classes
//   (ok / 400 / 403 / 410 / 414) must be equal for every URL, and the proxy must have seen
//   exactly the URLs the Worker accepted, byte for byte.
// - Forwarding: 200 with the secret, 403 without it; HEAD; If-None-Match 304; forged URLs never
//   reach the origin.
//
// Needs Go and libvips (scripts/test.sh installs both); skipped without Go unless
// IMGPROXY_TEST_TOOLS_REQUIRED is set.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

import worker, { requestTarget } from "./worker.mjs";
import { canonicalPath, escapeComponent } from "../imgproxy-url.mjs";
import { sign } from "../sign.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "../..");
const K1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2 = "2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c";
const K3 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // not configured
const SECRET = "edge-only-7c41e9a0b2d35f86";
const FUZZ = 12000;

const haveGo = spawnSync("go", ["version"]).status === 0;
const skip = !haveGo && !process.env.IMGPROXY_TEST_TOOLS_REQUIRED ? "go is not installed; scripts/test.sh installs it" : false;

describe("the Worker in front of a real imgproxy serve", { skip }, () => {
  let tmp;
  let server;
  let serverLog = "";
  let origin; // the server's base URL
  let proxy;
  let proxied = []; // { method, target, secret }
  let env;
  const direct = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const toServer = new http.Agent({ keepAlive: true, maxSockets: 16 });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "imgproxy-worker-"));
    const bin = join(tmp, "imgproxy");
    const build = spawnSync("go", ["build", "-o", bin, "./cmd/imgproxy"], { cwd: repo, encoding: "utf8" });
    assert.equal(build.status, 0, `go build: ${build.stderr}`);
    const originDir = join(tmp, "origin");
    spawnSync("mkdir", ["-p", join(originDir, "photos")]);
    writeFileSync(join(originDir, "tiny.png"), png(8, 6));
    writeFileSync(join(originDir, "photos", "Straße 1.png"), png(5, 5));
    const serverEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IMGPROXY_")));
    Object.assign(serverEnv, {
      IMGPROXY_SIGNING_KEYS: `${K1},${K2}`,
      IMGPROXY_ORIGIN_DIR: originDir,
      IMGPROXY_SERVER_ORIGIN_SECRET: SECRET,
    });
    server = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--cache-dir", join(tmp, "cache")],
      { cwd: tmp, env: serverEnv, stdio: ["ignore", "pipe", "pipe"] });
    server.stderr.on("data", (d) => {
      serverLog = (serverLog + d).slice(-20000);
    });
    origin = await new Promise((resolve, reject) => {
      let out = "";
      server.stdout.on("data", (d) => {
        out += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.on("exit", (code) => reject(new Error(`serve exited ${code}: ${serverLog}`)));
    });
    // The counting proxy: everything the Worker sends to the origin passes here, byte for byte.
    proxy = http.createServer((req, res) => {
      proxied.push({ method: req.method, target: req.url, secret: req.headers["x-origin-secret"] === SECRET });
      const up = http.request(origin + "/", { agent: toServer, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    proxy.keepAliveTimeout = 30000;
    await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    env = {
      IMGPROXY_SIGNING_KEYS: `${K2}, ${K1}`,
      IMGPROXY_ORIGIN: `http://127.0.0.1:${proxy.address().port}/`,
      IMGPROXY_ORIGIN_SECRET: SECRET,
    };
  });

  after(() => {
    proxy?.close();
    proxy?.closeAllConnections?.();
    direct.destroy();
    toServer.destroy();
    server?.kill();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  // A request straight to the server, with the target as given (node:http sends it as is).
  function toOrigin(target, { method = "GET", secret = true, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      if (secret) h["X-Origin-Secret"] = SECRET;
      const req = http.request(origin + "/", { agent: direct, method, path: target, headers: h }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  async function viaWorker(target, init = {}) {
    const res = await worker.fetch(new Request("https://img.example.com" + target, init), env, {});
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  test("a forwarded URL is 200 with the secret; the same URL straight to the origin without it is 403", async () => {
    const url = sign(K1, "tiny.png", { w: 4, fm: "webp" });
    const n = proxied.length;
    const { res, body } = await viaWorker(url);
    assert.equal(res.status, 200, serverLog);
    assert.equal(res.headers.get("Content-Type"), "image/webp");
    assert.equal(body.subarray(8, 12).toString(), "WEBP");
    assert.deepEqual(proxied.slice(n), [{ method: "GET", target: url, secret: true }]);
    assert.equal((await toOrigin(url, { secret: false })).status, 403);
    assert.equal((await toOrigin(url)).status, 200);
  });

  test("HEAD: the GET's headers, no body", async () => {
    const url = sign(K2, "photos/Straße 1.png", { w: 3 });
    const get = await viaWorker(url);
    const head = await viaWorker(url, { method: "HEAD" });
    assert.equal(head.res.status, 200);
    assert.equal(head.body.length, 0);
    for (const h of ["Content-Type", "Content-Length", "ETag", "Cache-Control"]) {
      assert.equal(head.res.headers.get(h), get.res.headers.get(h), h);
    }
    assert.equal(proxied.at(-1).method, "HEAD");
  });

  test("If-None-Match: 304 from the origin, passed through", async () => {
    const url = sign(K1, "tiny.png", { w: 2, v: "a1" });
    const first = await viaWorker(url);
    const etag = first.res.headers.get("ETag");
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const again = await viaWorker(url, { headers: { "If-None-Match": etag } });
    assert.equal(again.res.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.res.headers.get("ETag"), etag);
    assert.equal((await viaWorker(url, { headers: { "If-None-Match": '"other"' } })).res.status, 200);
  });

  test("health checks are forwarded; the origin answers them", async () => {
    assert.equal((await viaWorker("/healthz")).res.status, 200);
    assert.equal((await viaWorker("/readyz")).res.status, 200);
  });

  test("forged URLs never reach the origin", async () => {
    const n = proxied.length;
    const good = sign(K1, "tiny.png", { w: 4 });
    const forged = [
      sign(K3, "tiny.png", { w: 4 }), good.replace("w=4", "w=5"), good.replace("tiny", "secret"),
      good.slice(0, -2), sign(K3, "../etc/passwd".replace("../", "x/"), {}), "/tiny.png", "/tiny.png?w=4",
      sign(K1, "tiny.png", { exp: 1 }), good.replace("?", "?r=1&"),
    ];
    for (const t of forged) {
      const { res } = await viaWorker(t);
      assert.ok([400, 403, 410].includes(res.status), `${t}: ${res.status}`);
      assert.equal(res.headers.get("X-Edge"), "worker");
      assert.equal((await toOrigin(t)).status, res.status, t);
    }
    assert.equal(proxied.length, n, "a refused URL reached the origin");
  });

  test(`differential: ${FUZZ} generated and mutated URLs, the Worker's verdict is the server's`, async () => {
    const gen = new Generator(2026);
    const n0 = proxied.length;
    const counts = {};
    const mismatches = [];
    let normalised = 0;
    let accepted = [];
    // 431: a request line past 16 KiB is refused by Go's HTTP server before the router (414 below that).
    const classOf = (status) => (status === 431 ? 414 : [400, 403, 410, 414].includes(status) ? status : "ok");
    const one = async (raw) => {
      let req;
      try {
        req = new Request("https://img.example.com" + raw);
      } catch {
        counts.unparsable = (counts.unparsable ?? 0) + 1;
        return;
      }
      // What the Worker sees, and forwards, is the URL as the platform serialised it.
      const target = requestTarget(req.url);
      if (target !== raw) normalised++;
      const res = await worker.fetch(req, env, {});
      await res.arrayBuffer();
      const edge = res.headers.get("X-Edge") === "worker";
      let server;
      if (edge) {
        server = (await toOrigin(target)).status;
      } else {
        accepted.push(target);
        server = res.status; // the origin's own answer, through the proxy
      }
      const w = edge ? classOf(res.status) : "ok";
      const g = classOf(server);
      counts[`${w}`] = (counts[`${w}`] ?? 0) + 1;
      if (w !== g) {
        const shown = target.length > 160 ? `${target.slice(0, 80)}…(${target.length} bytes)…${target.slice(-60)}` : target;
        mismatches.push(`${shown}: worker ${edge ? res.status : "forwarded"}, server ${server}`);
      }
    };
    const targets = Array.from({ length: FUZZ }, () => gen.target());
    let next = 0;
    await Promise.all(Array.from({ length: 12 }, async () => {
      while (next < targets.length) await one(targets[next++]);
    }));
    const seen = proxied.slice(n0).map((p) => p.target);
    console.log(`differential: ${JSON.stringify(counts)}; ${normalised} of ${FUZZ} re-serialised by the URL parser; ` +
      `${seen.length} reached the origin`);
    assert.equal(mismatches.length, 0, `${mismatches.length} verdicts differ:\n${mismatches.slice(0, 20).join("\n")}`);
    assert.deepEqual(seen.sort(), accepted.sort(), "the origin saw exactly the URLs the Worker accepted");
    assert.equal(counts.unparsable, undefined);
    for (const cls of ["ok", 400, 403, 410]) assert.ok(counts[cls] >= 100, `too few ${cls}: ${JSON.stringify(counts)}`);
    assert.ok(counts[414] >= 1);
  });
});

// ---------------------------------------------------------------------------------------------
// URL generator: signed URLs (by sign.mjs, or by hand for values and names sign.mjs refuses),
// then mutations.

class Generator {
  constructor(seed) {
    this.rnd = mulberry32(seed);
  }
  int(n) {
    return Math.floor(this.rnd() * n);
  }
  pick(xs) {
    return xs[this.int(xs.length)];
  }
  chance(p) {
    return this.rnd() < p;
  }

  objectKey() {
    if (this.chance(0.05)) return this.pick(["tiny.png", "photos/Straße 1.png"]);
    const chars = ["a", "b", "Z", "0", "9", "-", ".", "_", "~", " ", "+", "%", "!", "(", ")", "*", "'", ",", ";",
      ":", "@", "&", "=", "?", "#", "[", "]", "\\", "^", "|", "{", "é", "ß", "日本", "😀", "\u00a0", "\u2028", "\u0080"];
    const segs = [];
    for (let s = 1 + this.int(3); s > 0; s--) {
      let seg = "";
      for (let n = 1 + this.int(10); n > 0; n--) seg += this.pick(chars);
      segs.push(seg);
    }
    let k = segs.join("/");
    if (this.chance(0.5)) k += this.pick([".jpg", ".png", ".webp", ""]);
    if (this.chance(0.01)) k = "x".repeat(1000 + this.int(40)); // around the 1024-byte limit
    return k;
  }

  params(forKey) {
    const p = {};
    const small = forKey === "tiny.png" || forKey === "photos/Straße 1.png"; // real images: no enlarge
    if (this.chance(0.6)) p.w = String(1 + this.int(this.chance(0.1) ? 9000 : 1200));
    if (this.chance(0.3)) p.h = String(1 + this.int(1200));
    if (this.chance(0.2)) p.dpr = this.pick(["1", "1.5", "2", "2.25", "4", "3.99"]);
    if (this.chance(0.2)) p.fit = this.pick(["cover", "contain", "fill", "inside", "outside"]);
    if (this.chance(0.1)) p.position = this.pick(["center", "top", "smart"]);
    if (this.chance(0.2)) p.fm = this.pick(["jpg", "png", "webp", "gif"]);
    if (this.chance(0.1)) p.auto = "format";
    if (this.chance(0.1)) p.q = String(1 + this.int(100));
    if (this.chance(0.05)) p.blur = this.pick(["0.3", "1", "12.5"]);
    if (this.chance(0.05)) p.sharpen = this.pick(["0.5", "2"]);
    if (this.chance(0.05)) p.rot = this.pick(["90", "180", "270"]);
    if (this.chance(0.05)) p.flip = this.pick(["h", "v", "hv"]);
    if (this.chance(0.05)) p.bg = this.pick(["ffffff", "00000080"]);
    if (this.chance(0.1)) p.v = this.pick(["1", "5d41402a", "A_b-9"]);
    if (!small && this.chance(0.05)) p.enlarge = "1";
    const now = Math.floor(Date.now() / 1000);
    if (this.chance(0.15)) p.exp = String(this.chance(0.5) ? now - 86400 - this.int(1e6) : now + 86400 + this.int(1e6));
    if (this.chance(0.01)) p.exp = this.pick(["0", "1", "999999999999999999"]);
    return p;
  }

  // Any name and value, signed: what sign.mjs would refuse to sign.
  badParams(p) {
    const bad = {
      w: ["0", "01", "-1", "1.0", "8193", "１"], h: ["00", "1e3"], dpr: ["1.50", "0.5", "5", ".5"],
      fit: ["Cover", "crop"], fm: ["jpeg", "JPG"], q: ["0", "101", "080"], blur: ["0.2", "1.0"],
      bg: ["FFFFFF", "fff"], v: ["a.b", "x".repeat(65), "é"], exp: ["01", "-1", "1.5", "9".repeat(19)],
      rot: ["45"], flip: ["vh"], enlarge: ["true"], auto: ["webp"], position: ["north"], sharpen: ["11"],
    };
    const q = { ...p };
    const name = this.pick(Object.keys(bad));
    q[name] = this.pick(bad[name]);
    if (this.chance(0.2)) q[this.pick(["r", "width", "S", "x"])] = "1";
    return q;
  }

  signed() {
    const key = this.objectKey();
    const keyHex = this.pick([K1, K1, K2, K3]);
    if (this.chance(0.15)) return handSigned(keyHex, key, this.badParams(this.params(key)));
    try {
      return sign(keyHex, key, this.params(key));
    } catch {
      return handSigned(keyHex, key, this.params(key)); // a key sign.mjs refuses ("." segment)
    }
  }

  target() {
    let t = this.signed();
    const rounds = this.chance(0.35) ? 0 : 1 + this.int(3);
    for (let i = 0; i < rounds; i++) t = this.mutate(t);
    return t;
  }

  mutate(t) {
    const q = t.indexOf("?");
    const path = q < 0 ? t : t.slice(0, q);
    const query = q < 0 ? "" : t.slice(q + 1);
    const parts = query === "" ? [] : query.split("&");
    const at = (s) => 1 + this.int(s.length); // a request target starts with "/"
    const insert = (s, i, x) => s.slice(0, i) + x + s.slice(i);
    switch (this.int(17)) {
      case 0: { // reorder
        if (parts.length < 3) return t;
        const i = this.int(parts.length - 1);
        const j = this.int(parts.length - 1);
        [parts[i], parts[j]] = [parts[j], parts[i]];
        return path + "?" + parts.join("&");
      }
      case 1: { // re-encode an unreserved byte
        const i = this.int(t.length);
        if (!/[A-Za-z0-9._~-]/.test(t[i])) return t;
        return t.slice(0, i) + "%" + t.charCodeAt(i).toString(16).toUpperCase().padStart(2, "0") + t.slice(i + 1);
      }
      case 2: // lower-case escapes
        return t.replace(/%[0-9A-F]{2}/, (m) => m.toLowerCase());
      case 3: { // decode an escape
        const m = [...t.matchAll(/%([0-9A-F]{2})/g)];
        if (m.length === 0) return t;
        const e = this.pick(m);
        return t.slice(0, e.index) + String.fromCharCode(parseInt(e[1], 16)) + t.slice(e.index + 3);
      }
      case 4: // pad
        return this.pick([t + "&", t + "&r=123", path + "?r=1&" + query, t + "=", t + "%20", path + "/?" + query,
          path + "?&" + query, t + "&s=" + t.slice(-43), "/" + t, path + "?" + query + "#x", t + "?"]);
      case 5: // truncate
        return t.slice(0, this.int(t.length) + 1);
      case 6: { // duplicate a parameter
        if (parts.length < 2) return t;
        const i = this.int(parts.length - 1);
        parts.splice(i, 0, parts[i]);
        return path + "?" + parts.join("&");
      }
      case 7: { // the signature
        const s = t.lastIndexOf("s=");
        if (s < 0) return t;
        const sig = t.slice(s + 2);
        const c = this.pick(["A", "B", "_", "-", "=", "%3D", "Q"]);
        return t.slice(0, s) + this.pick(["", "s=", "s=" + sig.slice(0, -1), "s=" + sig + c, "s=" + c + sig.slice(1),
          "s=" + sig.slice(0, -1) + String.fromCharCode(sig.charCodeAt(sig.length - 1) + 1), "s=" + sig.replace(/[A-Z]/, "a")]);
      }
      case 8: { // a name's case, or a name escaped
        if (parts.length < 1) return t;
        const i = this.int(parts.length);
        if (parts[i] === "") return t;
        parts[i] = this.chance(0.5) ? parts[i][0].toUpperCase() + parts[i].slice(1) : "%" + parts[i].charCodeAt(0).toString(16) + parts[i].slice(1);
        return path + "?" + parts.join("&");
      }
      case 9: // a stray character anywhere
        return insert(t, at(t), this.pick([" ", "%", "+", "é", "日", "😀", "\\", "/", ".", "#", "?", "&", "=", "|", "^",
          "'", "\"", "<", "`", "{", "\t", "%00", "%zz", "%2", "%2F", "%2f", "%C3", "%FF", ";", "~"]));
      case 10: // dot segments
        return insert(path, this.pick([1, path.lastIndexOf("/") + 1]), this.pick(["./", "../", "%2E/", "%2e%2e/", ".../", "/"])) +
          (q < 0 ? "" : "?" + query);
      case 11: { // a bad value in place (the signature no longer matches, but values come first)
        if (parts.length < 2) return t;
        const i = this.int(parts.length - 1);
        const [name] = parts[i].split("=");
        parts[i] = name + "=" + this.pick(["0", "01", "", "x", "1.50", "FFFFFF", "%20", "1%2E5", "-"]);
        return path + "?" + parts.join("&");
      }
      case 12: // separators
        return this.chance(0.5) ? t.replace("&", ";") : t.replace("?", "??");
      case 13: // padded past 8 KiB, or the key past 1024 bytes
        return this.chance(0.3) ? path + "x".repeat(8200) + (q < 0 ? "" : "?" + query)
          : insert(t, 1, "a".repeat(1000 + this.int(40)) + "/");
      case 14: { // raw Unicode for an escaped key (the URL parser escapes it back)
        return t.replace(/(%[0-9A-F]{2})+/, (m) => {
          try {
            return decodeURIComponent(m);
          } catch {
            return m;
          }
        });
      }
      case 15: // a signed URL for another key, with this one's query
        return this.signed().split("?")[0] + (q < 0 ? "" : "?" + query);
      default: // drop a parameter
        if (parts.length < 2) return t;
        parts.splice(this.int(parts.length - 1), 1);
        return path + "?" + parts.join("&");
    }
  }
}

// A signed URL for any names and values: canonical path, sorted names, escaped values, HMAC.
function handSigned(keyHex, objectKey, params) {
  const names = Object.keys(params).sort();
  let toSign = canonicalPath(objectKey);
  names.forEach((n, i) => {
    toSign += (i === 0 ? "?" : "&") + n + "=" + escapeComponent(params[n]);
  });
  const s = crypto.createHmac("sha256", Buffer.from(keyHex, "hex")).update(toSign).digest("base64url");
  return toSign + (names.length ? "&s=" : "?s=") + s;
}

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A w×h RGB PNG, without a library.
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "ascii");
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rows.set([x * 30, y * 40, 128], y * (w * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}
