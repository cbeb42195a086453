// Tests for scripts/sign.mjs. Run with: node --test scripts/
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  escapeComponent, parseKeyHex, sign, splitKeys, srcset, stringToSign,
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
      const s = crypto.createHmac("sha256", Buffer.from(KEY, "hex")).update(v.string_to_sign).digest("base64url");
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

describe("canonical encoding", () => {
  const cases = [
    ["abcXYZ019-._~", "abcXYZ019-._~"],
    ["!'()*", "%21%27%28%29%2A"],
    ["+", "%2B"],
    ["%", "%25"],
    ["%41", "%2541"],
    [" ", "%20"],
    ["a b", "a%20b"],
    ["/?#[]@:&=;,$", "%2F%3F%23%5B%5D%40%3A%26%3D%3B%2C%24"],
    ['"<>\\^`{|}', "%22%3C%3E%5C%5E%60%7B%7C%7D"],
    ["ß", "%C3%9F"],
    ["é", "%C3%A9"],
    ["日本", "%E6%97%A5%E6%9C%AC"],
    ["😀", "%F0%9F%98%80"],
    ["\u00a0", "%C2%A0"],
  ];
  for (const [input, want] of cases) {
    test(`escape ${JSON.stringify(input)}`, () => assert.equal(escapeComponent(input), want));
  }
  test("differs from encodeURIComponent where it must", () => {
    assert.equal(encodeURIComponent("!'()*"), "!'()*");
    assert.notEqual(escapeComponent("!'()*"), encodeURIComponent("!'()*"));
  });
  test("path keeps / between segments and escapes the rest", () => {
    assert.equal(stringToSign("a b/c!d(1)*.jpg", {}), "/a%20b/c%21d%281%29%2A.jpg");
    assert.equal(stringToSign("x+y/%20/~z", {}), "/x%2By/%2520/~z");
    assert.equal(stringToSign("Fotos/Straße 1.jpg", {}), "/Fotos/Stra%C3%9Fe%201.jpg");
    assert.equal(stringToSign("ordner/ä ö ü😀.png", {}), "/ordner/%C3%A4%20%C3%B6%20%C3%BC%F0%9F%98%80.png");
    assert.equal(stringToSign("a\\b", {}), "/a%5Cb");
  });
  test("query: names sorted bytewise, s last", () => {
    const p = { w: "1", v: "a", sharpen: "1", rot: "90", q: "1", position: "top", h: "1", fm: "png",
      flip: "h", fit: "fill", exp: "0", enlarge: "1", dpr: "1", blur: "1", bg: "ffffff", auto: "format" };
    const sts = stringToSign("k", p);
    assert.equal(sts, "/k?auto=format&bg=ffffff&blur=1&dpr=1&enlarge=1&exp=0&fit=fill&flip=h&fm=png" +
      "&h=1&position=top&q=1&rot=90&sharpen=1&v=a&w=1");
    const url = sign(KEY, "k", p);
    assert.match(url, /^\/k\?auto=format&.*&w=1&s=[A-Za-z0-9_-]{43}$/);
  });
  test("no params: ?s= directly after the path", () => {
    assert.match(sign(KEY, "a/b.jpg", {}), /^\/a\/b\.jpg\?s=[A-Za-z0-9_-]{43}$/);
    assert.equal(sign(KEY, "a/b.jpg", undefined), sign(KEY, "a/b.jpg", {}));
    assert.equal(sign(KEY, "a/b.jpg", null), sign(KEY, "a/b.jpg", {}));
    assert.equal(stringToSign("a/b.jpg"), "/a/b.jpg");
  });
  test("base URL: trailing slashes removed, otherwise kept as given", () => {
    const path = sign(KEY, "a.jpg", { w: 1 });
    assert.equal(sign(KEY, "a.jpg", { w: 1 }, "https://img.example.com//"), "https://img.example.com" + path);
    assert.equal(sign(KEY, "a.jpg", { w: 1 }, "https://cdn.example.com/img"), "https://cdn.example.com/img" + path);
    assert.equal(sign(KEY, "a.jpg", { w: 1 }, ""), path);
    assert.equal(sign(KEY, "a.jpg", { w: 1 }, undefined), path);
  });
});

describe("signing key validation", () => {
  const bad = [
    ["", /empty/],
    ["abc", /hex/],
    ["0".repeat(63), /hex/],
    ["zz".repeat(32), /hex/],
    ["0x" + "00".repeat(32), /hex/],
    [" " + "00".repeat(32), /hex/],
    ["00".repeat(31), /31 bytes, at least 32/],
    ["00".repeat(16), /16 bytes/],
  ];
  for (const [k, re] of bad) {
    test(`rejects ${JSON.stringify(k.slice(0, 12))}… (${k.length} chars)`, () => {
      throwsMatching(() => sign(k, "a.jpg", {}), re);
      try {
        sign(k, "a.jpg", {});
      } catch (e) {
        if (k.length >= 4) assert.ok(!e.message.includes(k.trim()), "message contains the key");
      }
    });
  }
  test("rejects a non-string key", () => {
    throwsMatching(() => sign(Buffer.alloc(32), "a.jpg", {}), /hex string/);
    throwsMatching(() => sign(undefined, "a.jpg", {}), /hex string/);
  });
  test("accepts 32 bytes and longer keys", () => {
    assert.ok(sign("00".repeat(32), "a.jpg", {}));
    assert.ok(sign("ab".repeat(100), "a.jpg", {}));
    assert.equal(parseKeyHex(KEY).length, 32);
  });
});

describe("object key validation", () => {
  const valid = [
    "a", "a/b", "a/b/c.jpg", "..a", "a..", ".hidden", "a/.b/c", "...", "~", "a b", "Straße",
    "x".repeat(1024), "ß".repeat(512), "😀".repeat(256), "a/".repeat(511) + "bc", "\u0080", "\u00a0",
  ];
  for (const k of valid) {
    test(`accepts ${JSON.stringify(k.length > 20 ? k.slice(0, 20) + "…" : k)} (${Buffer.byteLength(k)} bytes)`,
      () => assert.ok(sign(KEY, k, {})));
  }
  const invalid = [
    ["", /empty/],
    ["x".repeat(1025), /1025 bytes, more than 1024/],
    ["ß".repeat(512) + "x", /1025 bytes/],
    ["😀".repeat(256) + "a", /1025 bytes/],
    ["/a", /starts with a slash: drop it/],
    ["a/", /empty path segment/],
    ["a//b", /empty path segment/],
    ["/", /starts with a slash: drop it/],
    [".", /"\." path segment/],
    ["..", /"\.\." path segment/],
    ["a/./b", /"\." path segment/],
    ["a/../b", /"\.\." path segment/],
    ["a/.", /"\." path segment/],
    ["../a", /"\.\." path segment/],
    ["a\u0000b", /control byte 0x00/],
    ["a\nb", /control byte 0x0a/],
    ["a\rb", /control byte 0x0d/],
    ["\tx", /control byte 0x09/],
    ["x\u001f", /control byte 0x1f/],
    ["x\u007f", /control byte 0x7f/],
    ["\ud800", /well-formed/],
    ["a\udc00b", /well-formed/],
    ["😀".slice(0, 1) + "x", /well-formed/],
  ];
  for (const [k, re] of invalid) {
    test(`rejects ${JSON.stringify(k.length > 20 ? k.slice(0, 20) + "…" : k)}`, () => {
      throwsMatching(() => sign(KEY, k, {}), re);
      throwsMatching(() => stringToSign(k, {}), re);
    });
  }
  test("rejects a non-string object key", () => {
    throwsMatching(() => sign(KEY, 5, {}), /object key must be a string/);
    throwsMatching(() => sign(KEY, undefined, {}), /object key must be a string/);
  });
});

describe("parameter validation", () => {
  const table = {
    w: {
      valid: ["1", "400", "8192"],
      invalid: ["0", "-1", "+1", "01", "1.0", "1e3", "8193", " 1", "1 ", "abc", "0x10", "１",
        "99999999999999999999999"],
    },
    h: { valid: ["1", "480", "8192"], invalid: ["0", "00", "-480", "480.5", "8193", "4_80"] },
    dpr: {
      valid: ["1", "1.5", "2.25", "4", "3.99", "1.01", "1.1", "2", "3"],
      invalid: ["0", "0.5", "0.99", "1.0", "1.50", "2.00", "01.5", ".5", "1.", "4.01", "5", "1.234", "+1",
        "-1", "1,5", "1e0", "01", " 1", "4.1"],
    },
    fit: { valid: ["cover", "contain", "fill", "inside", "outside"], invalid: ["Cover", "crop", "cover ", "scale-down"] },
    position: {
      valid: ["center", "top", "right", "bottom", "left", "smart"],
      invalid: ["centre", "Top", "entropy", "attention", "north"],
    },
    enlarge: { valid: ["1"], invalid: ["0", "true", "01", "yes", "2"] },
    fm: { valid: ["jpg", "png", "webp", "avif", "gif"], invalid: ["jpeg", "JPG", "tiff", "heic", "auto"] },
    auto: { valid: ["format"], invalid: ["webp", "Format", "compress", "true"] },
    q: { valid: ["1", "80", "99", "100"], invalid: ["0", "101", "080", "1.5", "-5", "1000", "q80"] },
    blur: {
      valid: ["0.3", "0.31", "0.5", "1", "12.5", "99.99", "100"],
      invalid: ["0.29", "0.2", "0", "0.0", "100.01", "101", ".3", "00.3", "0.30", "1.0", "1.00", "-1", "1.001"],
    },
    sharpen: {
      valid: ["0.3", "1", "9.99", "10", "2.5"],
      invalid: ["0.29", "10.01", "11", "0", "10.0", "3.50", "00.5"],
    },
    rot: { valid: ["90", "180", "270"], invalid: ["0", "360", "-90", "090", "45", "90.0"] },
    flip: { valid: ["h", "v", "hv"], invalid: ["vh", "H", "x", "hh", "both"] },
    bg: {
      valid: ["ffffff", "000000", "a1b2c3", "a1b2c3d4", "00000000"],
      invalid: ["FFFFFF", "fff", "#ffffff", "ffffffa", "ffffffffff", "gggggg", "fFffff", "ffff"],
    },
    v: {
      valid: ["a", "5d41402a", "A-Z_09", "x".repeat(64), "-", "_"],
      invalid: ["x".repeat(65), "a.b", "a b", "ä", "a~", "a/b", "a+b"],
    },
    exp: {
      valid: ["0", "1", "1893456000", "9".repeat(18)],
      invalid: ["01", "00", "-1", "1.5", "9".repeat(19), "+1", "1e9", " 1"],
    },
  };
  for (const [name, { valid, invalid }] of Object.entries(table)) {
    test(`${name}: valid values`, () => {
      for (const v of valid) {
        assert.equal(stringToSign("a.jpg", { [name]: v }), `/a.jpg?${name}=${escapeComponent(v)}`, v);
        assert.ok(sign(KEY, "a.jpg", { [name]: v }), v);
      }
    });
    test(`${name}: invalid values`, () => {
      for (const v of invalid) {
        assert.throws(() => sign(KEY, "a.jpg", { [name]: v }), (e) => {
          assert.match(e.message, new RegExp(`parameter "${name}"`), `${name}=${v}`);
          assert.ok(!e.message.includes(KEY));
          return true;
        }, `${name}=${JSON.stringify(v)} should be refused`);
      }
    });
    test(`${name}: empty value`, () => {
      throwsMatching(() => sign(KEY, "a.jpg", { [name]: "" }), new RegExp(`parameter "${name}" has an empty value`));
    });
  }
  test("every contract name has a table entry", () => {
    assert.deepEqual(Object.keys(table).sort(), ["auto", "bg", "blur", "dpr", "enlarge", "exp", "fit", "flip",
      "fm", "h", "position", "q", "rot", "sharpen", "v", "w"]);
  });

  test("w and h times dpr against max_output_dim, rounded half up", () => {
    const ok = [
      { w: "8192" }, { h: "8192" }, { w: "4096", dpr: "2" }, { h: "2048", dpr: "4" },
      { w: "3276", dpr: "2.5" }, // 8190
      { w: "5461", dpr: "1.5" }, // 8191.5 -> 8192
      { w: "8111", dpr: "1.01" }, // 8192.11 -> 8192
    ];
    for (const p of ok) assert.ok(sign(KEY, "a.jpg", p), JSON.stringify(p));
    const bad = [
      [{ w: "8193" }, /"w" must be at most 8192/],
      [{ h: "8193" }, /"h" must be at most 8192/],
      [{ w: "4097", dpr: "2" }, /"w" times dpr must be at most 8192/],
      [{ w: "100", h: "2049", dpr: "4" }, /"h" times dpr/],
      [{ w: "3277", dpr: "2.5" }, /"w" times dpr/], // 8192.5 -> 8193
      [{ w: "5462", dpr: "1.5" }, /"w" times dpr/], // 8193
    ];
    for (const [p, re] of bad) throwsMatching(() => sign(KEY, "a.jpg", p), re);
  });
  test("maxOutputDim option", () => {
    assert.ok(sign(KEY, "a.jpg", { w: "100" }, "", { maxOutputDim: 100 }));
    throwsMatching(() => sign(KEY, "a.jpg", { w: "101" }, "", { maxOutputDim: 100 }), /at most 100 /);
    throwsMatching(() => sign(KEY, "a.jpg", { w: "50", dpr: "2.02" }, "", { maxOutputDim: 100 }), /times dpr/);
    assert.ok(sign(KEY, "a.jpg", { w: "10000" }, "", { maxOutputDim: 16384 }));
    throwsMatching(() => sign(KEY, "a.jpg", { w: "10000" }, "", { maxOutputDim: 8192 }), /at most 8192/);
    for (const m of [0, -1, 1.5, NaN, "8192"]) {
      throwsMatching(() => sign(KEY, "a.jpg", { w: "1" }, "", { maxOutputDim: m }), /maxOutputDim/);
    }
  });
  test("unknown names and s are refused", () => {
    for (const name of ["width", "W", "S", "format", "constructor", "toString", "hasOwnProperty", "x", ""]) {
      throwsMatching(() => sign(KEY, "a.jpg", { [name]: "1" }), /unknown parameter/);
    }
    throwsMatching(() => sign(KEY, "a.jpg", JSON.parse('{"__proto__": "1"}')), /unknown parameter/);
    throwsMatching(() => sign(KEY, "a.jpg", { s: "abc" }), /"s" is not allowed/);
    throwsMatching(() => sign(KEY, "a.jpg", { width: "1" }), /unknown parameter "width"/);
  });
  test("unknown long names are not echoed", () => {
    try {
      sign(KEY, "a.jpg", { [SECRET]: "1" });
      assert.fail("should throw");
    } catch (e) {
      assert.match(e.message, /unknown parameter name/);
      assert.ok(!e.message.includes(SECRET.slice(0, 8)));
    }
  });
  test("values are not echoed in messages", () => {
    for (const name of ["w", "h", "dpr", "q", "blur", "bg", "v", "exp", "fit"]) {
      try {
        sign(KEY, "a.jpg", { [name]: SECRET });
      } catch (e) {
        assert.ok(!e.message.includes(SECRET), name);
        continue;
      }
      assert.equal(name, "v"); // 64 hex characters are a valid v (it is a version tag)
    }
  });
  test("undefined and null values are skipped", () => {
    assert.equal(stringToSign("a.jpg", { w: "1", h: undefined, q: null }), "/a.jpg?w=1");
    assert.equal(stringToSign("a.jpg", { s: undefined }), "/a.jpg");
    assert.equal(sign(KEY, "a.jpg", { w: undefined }), sign(KEY, "a.jpg", {}));
  });
  test("params must be an object of strings or numbers", () => {
    for (const p of ["w=1", 5, [], [["w", "1"]], true]) {
      throwsMatching(() => sign(KEY, "a.jpg", p), /params must be an object/);
    }
    for (const v of [true, {}, ["1"], Symbol("x"), () => 1]) {
      throwsMatching(() => sign(KEY, "a.jpg", { w: v }), /"w" must be a string or a number/);
    }
  });
  test("number values are converted with String()", () => {
    assert.equal(sign(KEY, "photos/cat.jpg", { w: 400, fm: "webp", q: 80 }), data.vectors[0].url);
    assert.equal(stringToSign("a.jpg", { dpr: 1.5, blur: 0.3, sharpen: 2.25, rot: 90, exp: 0, enlarge: 1 }),
      "/a.jpg?blur=0.3&dpr=1.5&enlarge=1&exp=0&rot=90&sharpen=2.25");
    assert.equal(stringToSign("a.jpg", { dpr: 1.50 }), "/a.jpg?dpr=1.5");
    assert.equal(stringToSign("a.jpg", { dpr: 2.0 }), "/a.jpg?dpr=2");
    assert.equal(stringToSign("a.jpg", { w: 400n }), "/a.jpg?w=400");
    assert.equal(stringToSign("a.jpg", { exp: -0 }), "/a.jpg?exp=0");
    throwsMatching(() => sign(KEY, "a.jpg", { blur: 0.1 + 0.2 }), /"blur"/); // 0.30000000000000004
    throwsMatching(() => sign(KEY, "a.jpg", { w: 1e21 }), /"w"/);
    throwsMatching(() => sign(KEY, "a.jpg", { w: -1 }), /"w"/);
    throwsMatching(() => sign(KEY, "a.jpg", { w: 1.5 }), /"w"/);
    for (const v of [NaN, Infinity, -Infinity]) {
      throwsMatching(() => sign(KEY, "a.jpg", { w: v }), /"w" must be a finite number/);
    }
  });
});

describe("srcset", () => {
  test("without h: w replaced by each width", () => {
    const p = { w: "1000", fm: "webp" };
    const got = srcset(KEY, "photos/cat.jpg", p, [320, 640]);
    assert.equal(got, `${sign(KEY, "photos/cat.jpg", { fm: "webp", w: 320 })} 320w, ` +
      `${sign(KEY, "photos/cat.jpg", { fm: "webp", w: 640 })} 640w`);
    assert.equal(srcset(KEY, "photos/cat.jpg", { fm: "webp" }, [320, 640]), got);
    assert.equal(srcset(KEY, "photos/cat.jpg", { fm: "webp" }, [320]), sign(KEY, "photos/cat.jpg", { fm: "webp", w: 320 }) + " 320w");
    assert.equal(srcset(KEY, "a.jpg", {}, [1]), sign(KEY, "a.jpg", { w: 1 }) + " 1w");
  });
  test("widths sorted and each once: a repeated descriptor makes a browser drop a candidate", () => {
    const got = srcset(KEY, "a.jpg", {}, [640, 320, 640]).split(", ").map((e) => e.split(" ")[1]);
    assert.deepEqual(got, ["320w", "640w"]);
  });
  test("descriptors are real pixel widths, w·dpr rounded half up as the server does", () => {
    const d = (dpr, widths) => srcset(KEY, "a.jpg", { dpr }, widths).split(", ").map((e) => e.split(" ")[1]);
    assert.deepEqual(d("2", [300]), ["600w"]);
    assert.deepEqual(d("1.5", [101, 300]), ["152w", "450w"]); // 151.5 -> 152
    assert.deepEqual(d("2.25", [3, 1]), ["2w", "7w"]); // 2.25, 6.75
  });
  test("base URL and options", () => {
    const got = srcset(KEY, "a.jpg", { q: 50 }, [100, 200], "https://img.example.com/");
    for (const entry of got.split(", ")) assert.match(entry, /^https:\/\/img\.example\.com\/a\.jpg\?q=50&w=\d+&s=[\w-]{43} \d+w$/);
    throwsMatching(() => srcset(KEY, "a.jpg", {}, [100, 101], "", { maxOutputDim: 100 }), /width 101: .*"w" must be at most 100/);
    assert.ok(srcset(KEY, "a.jpg", {}, [9000], "", { maxOutputDim: 9000 }));
  });
  test("with h: h scaled, rounded half up, at least 1", () => {
    const got = srcset(KEY, "Fotos/Straße 1.jpg", { w: 640, h: 480, fit: "cover", position: "smart" }, [320, 1000, 1]);
    const want = [[1, 1], [320, 240], [1000, 750]]
      .map(([w, h]) => `${sign(KEY, "Fotos/Straße 1.jpg", { w, h, fit: "cover", position: "smart" })} ${w}w`)
      .join(", ");
    assert.equal(got, want);
    const h = (w, hh, wi) => new URL(srcset(KEY, "a.jpg", { w, h: hh }, [wi]).split(" ")[0], "http://x").searchParams.get("h");
    assert.equal(h(4, 2, 1), "1"); // 0.5 -> 1
    assert.equal(h(4, 1, 1), "1"); // 0.25 -> 0 -> at least 1
    assert.equal(h(8, 3, 4), "2"); // 1.5 -> 2
    assert.equal(h(8, 5, 4), "3"); // 2.5 -> 3
    assert.equal(h(3, 2, 1), "1"); // 0.67 -> 1
    assert.equal(h(3, 1, 2), "1"); // 0.67 -> 1
    assert.equal(h(3, 2, 2), "1"); // 1.33 -> 1
    assert.equal(h(1920, 1080, 500), "281"); // 281.25
    assert.equal(h(1920, 1080, 600), "338"); // 337.5 -> 338
    assert.equal(h(8192, 8192, 8191), "8191");
    assert.equal(h(1, 8192, 1), "8192");
  });
  test("with h but without w", () => {
    assert.throws(() => srcset(KEY, "a.jpg", { h: 480 }, [320]), { message: "widths with h need w to keep the aspect ratio" });
  });
  test("scaled h is checked against the limits", () => {
    throwsMatching(() => srcset(KEY, "a.jpg", { w: 1, h: 8192 }, [2]), /width 2: parameter "h" must be at most 8192/);
    throwsMatching(() => srcset(KEY, "a.jpg", { w: 1000, dpr: 2 }, [4096, 4097]), /width 4097: .*"w" times dpr/);
  });
  test("original params are validated too", () => {
    throwsMatching(() => srcset(KEY, "a.jpg", { w: "0640" }, [320]), /"w"/);
    throwsMatching(() => srcset(KEY, "a.jpg", { fm: "jpeg" }, [320]), /"fm"/);
    throwsMatching(() => srcset(KEY, "a//b.jpg", {}, [320]), /empty path segment/);
    throwsMatching(() => srcset("00", "a.jpg", {}, [320]), /signing key/);
  });
  test("widths must be a non-empty list of positive integers", () => {
    for (const widths of [[], undefined, null, "320", 320, new Set([320])]) {
      throwsMatching(() => srcset(KEY, "a.jpg", {}, widths), /widths must be a non-empty list/);
    }
    for (const widths of [[0], [-1], [1.5], ["320"], [NaN], [Infinity], [2 ** 53], [320, null], [320n]]) {
      throwsMatching(() => srcset(KEY, "a.jpg", {}, widths), /widths must be positive whole numbers/);
    }
  });
});

describe("key files", () => {
  test("splitKeys: commas, newlines, comments, whitespace", () => {
    assert.deepEqual(splitKeys("\uFEFF# current\naa, bb\r\n\n  # old\n cc \n,dd,\n"), ["aa", "bb", "cc", "dd"]);
    assert.deepEqual(splitKeys("# only a comment\n"), []);
  });
});

// ---------------------------------------------------------------------------------------------
// Command line

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IMGPROXY_")));

// Runs the command line with IMGPROXY_SIGNING_KEYS = keys (KEY when not given; unset when
// keys is given as undefined).
function run(args, opts = {}) {
  const { env = {}, input } = opts;
  const keys = "keys" in opts ? opts.keys : KEY;
  const e = { ...baseEnv, ...env };
  if (keys !== undefined) e.IMGPROXY_SIGNING_KEYS = keys;
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { env: e, input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("command line: single URL", () => {
  test("prints one URL", () => {
    const r = run(["photos/cat.jpg", "w=400", "fm=webp", "q=80"], { keys: `${KEY},${SECRET}` });
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, data.vectors[0].url + "\n");
  });
  test("every vector, with parameters in any order", () => {
    for (const v of data.vectors) {
      const args = Object.entries(v.params).reverse().map(([k, x]) => `${k}=${x}`);
      const r = run([v.object_key, ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, v.url + "\n");
    }
  });
  test("runs through a symlink too", () => {
    withTempDir((dir) => {
      const link = join(dir, "sign-link.mjs");
      symlinkSync(SCRIPT, link);
      const r = spawnSync(process.execPath, [link, "photos/cat.jpg", "w=400", "fm=webp", "q=80"],
        { env: { ...baseEnv, IMGPROXY_SIGNING_KEYS: KEY }, encoding: "utf8" });
      assert.equal(r.stdout, data.vectors[0].url + "\n");
    });
  });
  test("no parameters", () => {
    assert.equal(run(["photos/cat.jpg"]).stdout, data.vectors[1].url + "\n");
  });
  test("base URL from the environment, overridden by --base-url", () => {
    const env = { IMGPROXY_SIGNING_BASE_URL: "https://env.example.com/" };
    const args = ["photos/cat.jpg", "w=400", "fm=webp", "q=80"];
    assert.equal(run(args, { env }).stdout, "https://env.example.com" + data.vectors[0].url + "\n");
    assert.equal(run([...args, "--base-url", "https://img.example.com"], { env }).stdout,
      "https://img.example.com" + data.vectors[0].url + "\n");
    assert.equal(run(["--base-url=https://img.example.com", ...args], { env }).stdout,
      "https://img.example.com" + data.vectors[0].url + "\n");
    assert.equal(run([...args, "--base-url="], { env }).stdout, data.vectors[0].url + "\n");
  });
  test("--widths prints a srcset value", () => {
    const r = run(["Fotos/Straße 1.jpg", "w=640", "h=480", "fit=cover", "position=smart", "--widths", "320,640"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, srcset(KEY, "Fotos/Straße 1.jpg", { w: 640, h: 480, fit: "cover", position: "smart" },
      [320, 640]) + "\n");
    assert.match(r.stdout, /h=240&.*w=320.* 320w, .*h=480&.*w=640.* 640w\n$/);
    assert.equal(run(["a.jpg", "--widths=100"]).stdout, srcset(KEY, "a.jpg", {}, [100]) + "\n");
  });
  test("object keys that look odd are still object keys after --", () => {
    const r = run(["--", "-a b.jpg", "w=1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, sign(KEY, "-a b.jpg", { w: 1 }) + "\n");
  });
  test("max_output_dim from --max-output-dim and IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM", () => {
    assert.equal(run(["a.jpg", "w=9000"]).code, 1);
    assert.equal(run(["a.jpg", "w=9000", "--max-output-dim", "9000"]).code, 0);
    assert.equal(run(["a.jpg", "w=9000"], { env: { IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM: "10000" } }).code, 0);
    assert.equal(run(["a.jpg", "w=200"], { env: { IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM: "100" } }).code, 1);
    assert.equal(run(["a.jpg", "w=1"], { env: { IMGPROXY_TRANSFORM_MAX_OUTPUT_DIM: "lots" } }).code, 1);
  });
  test("invalid input: message on stderr, nothing on stdout, exit 1", () => {
    const cases = [
      [["photos/cat.jpg", "w=0"], /parameter "w"/],
      [["photos/cat.jpg", "width=400"], /unknown parameter "width"/],
      [["photos/cat.jpg", "s=abc"], /"s" is not allowed/],
      [["photos/cat.jpg", "w="], /empty value/],
      [["photos/cat.jpg", "w=1", "w=2"], /given twice/],
      [["photos//cat.jpg"], /empty path segment/],
      [["photos/cat.jpg", "h=300", "--widths", "320"], /widths with h need w/],
      [["photos/cat.jpg", "--widths", "320,0"], /--widths/],
      [["photos/cat.jpg", "--widths", "320,,640"], /--widths/],
      [["photos/cat.jpg", "w400"], /name=value/],
    ];
    for (const [args, re] of cases) {
      const r = run(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.equal(r.stdout, "");
      assert.match(r.stderr, re);
    }
  });
  test("bad arguments print the usage", () => {
    for (const args of [[], ["--nope"], ["a.jpg", "--widths"], ["--batch", "a.jpg"], ["--batch", "--widths", "1"],
      ["--batch=yes"], ["a.jpg", "--base-url", "x", "--base-url", "y"]]) {
      const r = run(args, { input: "" });
      assert.equal(r.code, 1, args.join(" "));
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /usage:/);
    }
    const h = run(["--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /usage:/);
  });
  test("no key configured", () => {
    for (const keys of [undefined, "", " , "]) {
      const r = run(["a.jpg"], { keys });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no signing key/);
    }
  });
  test("bad configured keys are reported by position", () => {
    let r = run(["a.jpg"], { keys: "abcd" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /IMGPROXY_SIGNING_KEYS: key 1: signing key is 2 bytes/);
    r = run(["a.jpg"], { keys: `${KEY},${SECRET.slice(0, 63)}` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /key 2: signing key must be hex/);
  });
  test("the key is never accepted as an argument", () => {
    for (const args of [["--key", SECRET, "a.jpg"], [`--key=${SECRET}`, "a.jpg"], ["-k", SECRET, "a.jpg"]]) {
      const r = run(args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not accepted as an argument/);
    }
  });
});

function withTempDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), "sign-test-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("command line: --key-file", () => {
  test("first key signs; comments, commas and newlines; wins over the environment", () => {
    withTempDir((dir) => {
      const file = join(dir, "keys");
      writeFileSync(file, `# signing key, rotated 2025-01\n${KEY}, ${SECRET}\n# old\n${SECRET}\n`);
      const args = ["photos/cat.jpg", "w=400", "fm=webp", "q=80", "--key-file", file];
      let r = run(args, { keys: undefined });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, data.vectors[0].url + "\n");
      r = run(args, { keys: SECRET });
      assert.equal(r.stdout, data.vectors[0].url + "\n");
      writeFileSync(file, `${SECRET}\n`);
      r = run(args, { keys: KEY });
      assert.equal(r.stdout, sign(SECRET, "photos/cat.jpg", { w: 400, fm: "webp", q: 80 }) + "\n");
    });
  });
  test("errors: missing file, empty file, bad key", () => {
    withTempDir((dir) => {
      const file = join(dir, "keys");
      let r = run(["a.jpg", "--key-file", join(dir, "missing")]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot read key file: ENOENT/);
      writeFileSync(file, "# nothing here\n\n");
      r = run(["a.jpg", "--key-file", file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no signing key in key file/);
      writeFileSync(file, `${SECRET}\n${SECRET}zz\n`);
      r = run(["a.jpg", "--key-file", file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /key file: key 2: signing key must be hex/);
      assert.ok(!r.stderr.includes(SECRET));
    });
  });
});

describe("command line: --batch", () => {
  test("one output line per input line, in order; a bad line does not stop the others", () => {
    const lines = [
      JSON.stringify({ key: "photos/cat.jpg", params: { w: "400", fm: "webp", q: "80" } }),
      "",
      JSON.stringify({ key: "Fotos/Straße 1.jpg", params: { w: 640, h: 480, fit: "cover", position: "smart" }, widths: [320, 640] }),
      "{not json",
      "   ",
      JSON.stringify({ key: "a/b.jpg", params: { w: "0" } }),
      JSON.stringify({ key: "photos/cat.jpg" }),
      "[1, 2]",
      JSON.stringify({ key: "a//b.jpg", params: {} }),
      JSON.stringify({ key: 5, params: {} }),
      JSON.stringify({ key: "a.jpg", params: { w: 1 }, width: [1] }),
      JSON.stringify({ key: "a.jpg", params: { h: 100 }, widths: [1] }),
      JSON.stringify({ key: "a.jpg", params: { w: 100 }, widths: [] }),
      JSON.stringify({ key: "a.jpg", params: "w=1" }),
      JSON.stringify({ key: "\ud800", params: {} }),
      JSON.stringify({ key: "a.jpg", params: { w: 100 }, widths: null }) + "\r",
      JSON.stringify({ key: "a.jpg", params: null }),
      JSON.stringify({ key: "last.jpg", params: { w: 2 } }),
    ];
    const r = run(["--batch", "--base-url", "https://img.example.com/"], { input: lines.join("\n") });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "");
    const base = "https://img.example.com";
    const want = [
      { key: "photos/cat.jpg", url: base + data.vectors[0].url },
      { key: "", error: "line 2: blank line: want one JSON object per line" },
      {
        key: "Fotos/Straße 1.jpg",
        url: base + data.vectors[2].url,
        srcset: srcset(KEY, "Fotos/Straße 1.jpg", { w: 640, h: 480, fit: "cover", position: "smart" }, [320, 640], base),
      },
      { key: "", error: "line 4: bad JSON: invalid JSON" },
      { key: "", error: "line 5: blank line: want one JSON object per line" },
      { key: "a/b.jpg", error: /^line 6: parameter "w"/ },
      { key: "photos/cat.jpg", url: base + data.vectors[1].url },
      { key: "", error: "line 8: bad JSON: want an object" },
      { key: "a//b.jpg", error: /^line 9: .*empty path segment/ },
      { key: "", error: /^line 10: "key" must be a string/ },
      { key: "a.jpg", error: /^line 11: bad JSON: unknown field "width"/ },
      { key: "a.jpg", error: "line 12: widths with h need w to keep the aspect ratio" },
      { key: "a.jpg", error: /^line 13: widths must be a non-empty list/ },
      { key: "a.jpg", error: /^line 14: "params" must be an object/ },
      { key: "\ufffd", error: /^line 15: object key has an unpaired surrogate/ },
      { key: "a.jpg", url: sign(KEY, "a.jpg", { w: 100 }, base) },
      { key: "a.jpg", url: sign(KEY, "a.jpg", {}, base) },
      { key: "last.jpg", url: sign(KEY, "last.jpg", { w: 2 }, base) },
    ];
    const out = r.stdout.split("\n");
    assert.equal(out.pop(), "", "output ends with a newline");
    assert.equal(out.length, lines.length, "one output line per input line");
    out.forEach((line, i) => {
      const got = JSON.parse(line);
      const w = want[i];
      assert.deepEqual(Object.keys(got), Object.keys(w), `line ${i + 1} field order`);
      for (const [k, v] of Object.entries(w)) {
        if (v instanceof RegExp) assert.match(got[k], v, `line ${i + 1}`);
        else assert.equal(got[k], v, `line ${i + 1}`);
      }
    });
    // Exact bytes of one line: compact JSON, fields key, url, srcset.
    assert.equal(out[0], `{"key":"photos/cat.jpg","url":"${base}${data.vectors[0].url}"}`);
    assert.ok(out[2].startsWith('{"key":"Fotos/Straße 1.jpg","url":"https://img.example.com/Fotos/Stra%C3%9Fe%201.jpg?'));
    assert.equal(out[3], '{"key":"","error":"line 4: bad JSON: invalid JSON"}');
  });
  test("numbers are taken as written, as the Go CLI takes them", () => {
    const cases = [
      [{ w: 400 }, true], [{ dpr: 1.5, w: 4 }, true],
      ['{"w": 400.0}', false], ['{"w": 4e2}', false], ['{"dpr": 1.50}', false], ['{"w": -0}', false],
      ['{"w": null}', false], ['{"w": true}', false], ['{"exp": 99999999999999999}', true],
    ];
    const input = cases.map(([p]) => `{"key": "a.jpg", "params": ${typeof p === "string" ? p : JSON.stringify(p)}}`).join("\n");
    const out = run(["--batch"], { input }).stdout.trim().split("\n").map((l) => JSON.parse(l));
    cases.forEach(([p, ok], i) => assert.equal(out[i].url !== undefined, ok, `${JSON.stringify(p)}: ${JSON.stringify(out[i])}`));
    // 99999999999999999 is 100000000000000000 as a JavaScript number: the digits must survive.
    assert.match(out[8].url, /exp=99999999999999999&/);
  });
  test("--expires: a Go duration or an RFC 3339 time, on every line without its own exp", () => {
    const input = '{"key":"a.jpg"}\n{"key":"b.jpg","params":{"exp":5}}\n';
    const r = run(["--batch", "--expires", "2030-01-01T02:00:00+02:00"], { input });
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = r.stdout.trim().split("\n").map((l) => JSON.parse(l).url);
    assert.match(a, /\?exp=1893456000&s=/);
    assert.match(b, /\?exp=5&s=/);
    const before = Math.floor(Date.now() / 1000) + 5400;
    const one = run(["a.jpg", "--expires", "1h30m"]);
    const exp = Number(new URL(one.stdout.trim(), "http://x").searchParams.get("exp"));
    assert.ok(exp >= before && exp <= before + 5, `${exp} not about ${before}`);
    for (const bad of ["-1h", "0", "1d", "2020-01-01T00:00:00Z", "2030-02-30T00:00:00Z", "tomorrow"]) {
      const e = run(["a.jpg", "--expires", bad]);
      assert.equal(e.code, 1, bad);
      assert.match(e.stderr, /--expires/, bad);
    }
    assert.equal(run(["a.jpg", "--expires", "1h", "--expires", "2h"]).code, 1);
  });
  test("exit 0 when every line signed; empty input is fine", () => {
    const input = data.vectors.map((v) => JSON.stringify({ key: v.object_key, params: v.params })).join("\r\n") + "\r\n";
    const r = run(["--batch"], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, data.vectors.map((v) => JSON.stringify({ key: v.object_key, url: v.url }) + "\n").join(""));
    const e = run(["--batch"], { input: "" });
    assert.equal(e.code, 0);
    assert.equal(e.stdout, "");
    const blank = run(["--batch"], { input: "\n\n  \n" });
    assert.equal(blank.code, 1);
    assert.equal(blank.stdout.split("\n").length, 4, "an error line for each blank line");
  });
  test("limits from the configuration apply", () => {
    const input = JSON.stringify({ key: "a.jpg", params: { w: 9000 } }) + "\n";
    assert.equal(run(["--batch"], { input }).code, 1);
    assert.equal(run(["--batch", "--max-output-dim=9000"], { input }).code, 0);
  });
  test("no key: error on stderr, exit 1, no output", () => {
    const r = run(["--batch"], { keys: undefined, input: '{"key":"a.jpg"}\n' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no signing key/);
  });
  test("100,000 lines, in order", () => {
    // Speed is measured by scripts/bench.sh, not asserted here: this machine is shared and noisy.
    const lines = [];
    for (let i = 0; i < 100000; i++) {
      const entry = { key: `photos/img ${i}.jpg`, params: { w: String(100 + (i % 900)), fm: "webp", q: "80" } };
      if (i % 10 === 0) entry.widths = [320, 640];
      lines.push(JSON.stringify(entry));
    }
    const r = run(["--batch"], { input: lines.join("\n") + "\n" });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.split("\n");
    assert.equal(out.length, 100001);
    assert.equal(JSON.parse(out[99999]).url, sign(KEY, "photos/img 99999.jpg", { w: 199, fm: "webp", q: 80 }));
    assert.ok(JSON.parse(out[99990]).srcset.endsWith(" 640w"));
  });
});

describe("the signing key never appears in output or errors", () => {
  test("single mode, batch mode, and library errors", () => {
    const failing = [
      ["a.jpg", `w=${SECRET}`],
      ["a.jpg", `${SECRET}=1`],
      ["a.jpg", `q=${SECRET}`],
      ["a.jpg", `bg=${SECRET}`],
      ["a.jpg", `exp=${SECRET}`],
      ["a.jpg", "--widths", SECRET],
      ["a.jpg", "--max-output-dim", SECRET],
      [`--key=${SECRET}`],
      ["--key", SECRET],
      [`--${SECRET}`],
      [`--${SECRET}=1`],
      ["a.jpg", SECRET],
      [`a/${SECRET}/\u0001.jpg`],
    ];
    for (const keys of [SECRET, SECRET.toUpperCase(), `${SECRET},${KEY}`]) {
      for (const args of failing) {
        const r = run(args, { keys });
        assert.equal(r.code, 1, args.join(" "));
        const all = (r.stdout + r.stderr).toLowerCase();
        assert.ok(!all.includes(SECRET), `key leaked for ${args.join(" ")}: ${r.stderr}`);
      }
      // Successful output contains signatures, never the key.
      const ok = run(["a.jpg", "w=1", "--widths", "1,2"], { keys });
      assert.equal(ok.code, 0);
      assert.ok(!ok.stdout.toLowerCase().includes(SECRET));
      const batch = [
        JSON.stringify({ key: "a.jpg", params: { w: SECRET } }),
        JSON.stringify({ key: "a.jpg", params: { [SECRET]: "1" } }),
        JSON.stringify({ key: "a.jpg", params: { w: 1 }, widths: [SECRET] }),
        JSON.stringify({ key: "a.jpg", params: { w: 1 }, [SECRET]: 1 }),
        `{"key": "a.jpg", "params": ${SECRET}}`,
        SECRET,
        JSON.stringify({ key: "a.jpg", params: { w: 1 } }),
      ].join("\n");
      const b = run(["--batch"], { keys, input: batch });
      assert.equal(b.code, 1);
      assert.equal(b.stdout.split("\n").length, 8);
      assert.ok(!(b.stdout + b.stderr).toLowerCase().includes(SECRET), b.stdout);
    }
  });
  test("library error messages never contain the key", () => {
    const calls = [
      () => sign(SECRET, "", {}),
      () => sign(SECRET, "a//b", {}),
      () => sign(SECRET, "a.jpg", { w: "0" }),
      () => sign(SECRET, "a.jpg", { s: SECRET }),
      () => sign(SECRET + "0", "a.jpg", {}),
      () => sign(SECRET.slice(2), "a.jpg", {}),
      () => sign(SECRET.replace("f", "g"), "a.jpg", {}),
      () => srcset(SECRET, "a.jpg", { h: 1 }, [1]),
      () => srcset(SECRET, "a.jpg", {}, []),
    ];
    for (const f of calls) {
      assert.throws(f, (e) => {
        assert.ok(!e.message.toLowerCase().includes(SECRET.slice(2, 40)), e.message);
        return true;
      });
    }
  });
});
