// Tests for scripts/sign.mjs. Run with: node --test scripts/
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  escapeComponent, hmacFunction, parseKeyHex, sign, splitKeys, srcset, stringToSign,
} from "./sign.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(here, "sign.mjs");
const data = JSON.parse(readFileSync(join(here, "../internal/urlsig/testdata/vectors.json"), "utf8"));
const KEY = data.key_hex;
// A second key for tests that look for leaks: distinctive, and not the vectors' key.
const SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

function sig(url) {
  return new URL(url, "http://x").searchParams.get("s");
}

function throwsMatching(fn, re) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, re);
    return true;
  });
}

describe("test vectors (internal/urlsig/testdata/vectors.json)", () => {
  test("file has vectors", () => {
    assert.ok(data.vectors.length >= 5);
  });
  for (const v of data.vectors) {
    test(`${v.object_key} ${JSON.stringify(v.params)}`, () => {
      assert.equal(stringToSign(v.object_key, v.params), v.string_to_sign);
      assert.equal(sign(KEY, v.object_key, v.params), v.url);
      assert.equal(sig(v.url), v.s);
      assert.ok(v.url.endsWith((Object.keys(v.params).length ? "&s=" : "?s=") + v.s));
      // Independent check of the signature with createHmac.
      const s = createHmac("sha256", Buffer.from(KEY, "hex")).update(v.string_to_sign).digest("base64url");
      assert.equal(s, v.s);
      // Base URL, with and without trailing slash.
      assert.equal(sign(KEY, v.object_key, v.params, "https://img.example.com"),
        "https://img.example.com" + v.url);
      assert.equal(sign(KEY, v.object_key, v.params, "https://img.example.com/"),
        "https://img.example.com" + v.url);
      // Parameter order in the input does not matter.
      const reversed = Object.fromEntries(Object.entries(v.params).reverse());
      assert.equal(sign(KEY, v.object_key, reversed), v.url);
    });
  }
  test("changing any single byte of the key changes every signature", () => {
    const key = Buffer.from(KEY, "hex");
    for (let i = 0; i < key.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const k = Buffer.from(key);
        k[i] ^= flip;
        for (const v of data.vectors) {
          const url = sign(k.toString("hex"), v.object_key, v.params);
          assert.notEqual(sig(url), v.s, `byte ${i} ^ ${flip}`);
          assert.equal(url.slice(0, url.lastIndexOf("s=")), v.url.slice(0, v.url.lastIndexOf("s=")));
        }
      }
    }
  });
  test("upper-case hex key signs the same", () => {
    const v = data.vectors[0];
    assert.equal(sign(KEY.toUpperCase(), v.object_key, v.params), v.url);
  });
});

describe("HMAC", () => {
  test("one-shot and createHmac agree for keys of 32, 64, 65 and 200 bytes", () => {
    const msgs = ["", "/a", "/photos/cat.jpg?fm=webp&q=80&w=400", "/" + "x".repeat(5000), "/%C3%9F"];
    for (const len of [32, 33, 63, 64, 65, 200]) {
      const key = Buffer.alloc(len);
      for (let i = 0; i < len; i++) key[i] = (i * 37 + 11) & 0xff;
      const fast = hmacFunction(key, { oneShot: true });
      const slow = hmacFunction(key, { oneShot: false });
      for (const m of msgs) {
        const want = createHmac("sha256", key).update(m).digest("base64url");
        assert.equal(slow(m), want, `len ${len}`);
        if (typeof (globalThis.process && (await_import_crypto_hash)) === "function") assert.equal(fast(m), want);
      }
    }
  });
});
