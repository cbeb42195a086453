package sign

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// The JavaScript signer in scripts/sign.mjs must mint byte-identical URLs.
// These tests drive it with node and compare.

func signerScript(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; scripts/test.sh installs it")
	}
	p, err := filepath.Abs("../../scripts/sign.mjs")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type jsCase struct {
	KeyHex string            `json:"k"`
	Key    string            `json:"key"`
	Params map[string]string `json:"params"`
	Widths []int             `json:"widths,omitempty"`
	Base   string            `json:"base"`
}

type jsResult struct {
	URL    string `json:"url"`
	Srcset string `json:"srcset"`
	Error  string `json:"error"`
}

const jsDriver = `
import { sign, srcset } from %q;
import { createInterface } from "node:readline";
const out = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const c = JSON.parse(line);
  try {
    const r = { url: sign(c.k, c.key, c.params, c.base) };
    if (c.widths) r.srcset = srcset(c.k, c.key, c.params, c.widths, c.base);
    out.push(JSON.stringify(r));
  } catch (e) {
    out.push(JSON.stringify({ error: String(e.message || e) }));
  }
}
process.stdout.write(out.join("\n") + "\n");
`

// runNode runs an ES-module driver with node, feeding it each case as a
// JSON line, and returns a scanner over the lines it prints.
func runNode[C any](t *testing.T, driver string, cases []C) *bufio.Scanner {
	t.Helper()
	var in bytes.Buffer
	for _, c := range cases {
		b, _ := json.Marshal(c)
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.Command("node", "--input-type=module", "-e", driver)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	return sc
}

// Object-key characters that stress the encoding: non-ASCII, spaces, '+',
// '%', reserved and unreserved punctuation, and an occasional '/'.
var keyRunes = []rune("abcXYZ0189-._~ +%!'()*&=?#[]@:;,$\"<>\\^`{|}éßü日本😀/")

func randomKey(r *rand.Rand) string {
	var b strings.Builder
	n := 1 + r.IntN(24)
	for i := 0; i < n; i++ {
		b.WriteRune(keyRunes[r.IntN(len(keyRunes))])
	}
	if r.IntN(10) == 0 {
		b.WriteString("\x01") // invalid: a control byte
	}
	return b.String()
}

var paramValues = map[string][]string{
	"w": {"1", "320", "8192", "0", "9000", "07"}, "h": {"1", "240", "8192", "x"},
	"dpr": {"1", "1.5", "2.25", "4", "1.50", "5"}, "fit": {"cover", "contain", "fill", "inside", "outside", "crop"},
	"position": {"center", "top", "right", "bottom", "left", "smart", "north"}, "enlarge": {"1", "0"},
	"fm": {"jpg", "png", "webp", "avif", "gif", "jpeg"}, "auto": {"format", "x"}, "q": {"1", "80", "100", "0"},
	"blur": {"0.3", "2.5", "100", "0.2"}, "sharpen": {"0.3", "10", "1.25", "11"}, "rot": {"90", "180", "270", "45"},
	"flip": {"h", "v", "hv", "vh"}, "bg": {"ffffff", "00000080", "FFFFFF"}, "v": {"5d41402a", "A_b-9", "a.b"},
	"exp": {"1893456000", "0", "01"},
}

func randomParams(r *rand.Rand) map[string]string {
	ps := map[string]string{}
	for _, name := range urlsig.Names {
		if r.IntN(4) == 0 {
			vals := paramValues[name]
			// Mostly valid values (all but the last one or two are).
			ps[name] = vals[r.IntN(len(vals))]
		}
	}
	return ps
}

func TestJavaScriptSignerAgrees(t *testing.T) {
	script := signerScript(t)
	r := rand.New(rand.NewPCG(1, 2))
	var cases []jsCase
	for i := 0; i < 3000; i++ {
		k := make([]byte, 32+r.IntN(33))
		for j := range k {
			k[j] = byte(r.Uint32())
		}
		c := jsCase{KeyHex: hex.EncodeToString(k), Key: randomKey(r), Params: randomParams(r)}
		if i%3 == 0 {
			c.Base = "https://img.example.com"
		}
		if i%5 == 0 {
			c.Widths = []int{1 + r.IntN(2000), 1 + r.IntN(2000)}
		}
		cases = append(cases, c)
	}
	sc := runNode(t, fmt.Sprintf(jsDriver, "file://"+script), cases)
	agreedValid := 0
	for i := 0; sc.Scan(); i++ {
		if i >= len(cases) {
			t.Fatal("node printed more lines than cases")
		}
		c := cases[i]
		var js jsResult
		if err := json.Unmarshal(sc.Bytes(), &js); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		k, _ := hex.DecodeString(c.KeyHex)
		ring, _ := urlsig.NewKeyRing([][]byte{k})
		s := &Signer{Ring: ring, BaseURL: c.Base, Limits: params.DefaultLimits}
		var ps []urlsig.Param
		for n, v := range c.Params {
			ps = append(ps, urlsig.Param{Name: n, Value: v})
		}
		goURL, goErr := s.URL(c.Key, ps)
		var goSet string
		if goErr == nil && c.Widths != nil {
			goSet, goErr = s.Srcset(c.Key, ps, c.Widths)
		}
		switch {
		case (goErr != nil) != (js.Error != ""):
			t.Errorf("case %d %q %v: Go error %v, JS error %q", i, c.Key, c.Params, goErr, js.Error)
		case goErr == nil && (goURL != js.URL || goSet != js.Srcset):
			t.Errorf("case %d: Go %q %q\nJS %q %q", i, goURL, goSet, js.URL, js.Srcset)
		case goErr == nil:
			agreedValid++
		}
	}
	// The generator must exercise the success path, not only refusals.
	if agreedValid < 300 {
		t.Errorf("only %d valid cases agreed; the generator is too harsh", agreedValid)
	}
	t.Logf("%d cases, %d valid and identical", len(cases), agreedValid)
}

// Both command-line batch modes give the same lines for the same input.
func TestJavaScriptBatchAgrees(t *testing.T) {
	script := signerScript(t)
	in := batchInput(500)
	in = append(in, []byte(`{"key": "a b+c%.jpg", "params": {"w": 400}, "widths": [100, 200]}`+"\n"+`{"key": "x.jpg", "params": {"w": "0"}}`+"\n")...)
	s := newSigner(t, "https://img.example.com")
	var goOut bytes.Buffer
	if _, err := s.Batch(bytes.NewReader(in), &goOut, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, "--batch")
	cmd.Env = append(os.Environ(), "IMGPROXY_SIGNING_KEYS="+vectorKey, "IMGPROXY_SIGNING_BASE_URL=https://img.example.com")
	cmd.Stdin = bytes.NewReader(in)
	jsOut, _ := cmd.Output() // exit 1: one line fails on purpose
	goLines := strings.Split(strings.TrimSpace(goOut.String()), "\n")
	jsLines := strings.Split(strings.TrimSpace(string(jsOut)), "\n")
	if len(goLines) != len(jsLines) {
		t.Fatalf("Go %d lines, JS %d lines", len(goLines), len(jsLines))
	}
	for i := range goLines {
		var g, j batchOut
		json.Unmarshal([]byte(goLines[i]), &g)
		json.Unmarshal([]byte(jsLines[i]), &j)
		if g.Key != j.Key || g.URL != j.URL || g.Srcset != j.Srcset || (g.Error == "") != (j.Error == "") {
			t.Errorf("line %d:\nGo %s\nJS %s", i+1, goLines[i], jsLines[i])
		}
	}
}
