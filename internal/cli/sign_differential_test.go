package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The README promises that scripts/sign.mjs is the Go CLI's twin. This runs
// both command lines, built and unmodified, over the same generated batch
// (numbers written every way JSON allows, nulls, Unicode and escaped keys,
// unpaired surrogates, unknown and repeated fields, blank and broken lines)
// and compares the output line by line: a signed line must be the same
// bytes, and a refused line must be refused by both, for the same key, with
// the same line number. The wording of a refusal may differ.
func TestBatchGoAndNodeAgree(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; scripts/test.sh installs it")
	}
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	bin := filepath.Join(t.TempDir(), "imgproxy")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/imgproxy")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // sign is pure Go; no libvips link needed
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, _ := filepath.Abs("../../scripts/sign.mjs")

	r := rand.New(rand.NewPCG(12, 2026))
	var in bytes.Buffer
	const lines = 6000
	for range lines {
		in.WriteString(batchLine(r))
		if r.IntN(20) == 0 {
			in.WriteString("\r") // CRLF
		}
		in.WriteByte('\n')
	}
	in.WriteString(`{"key":"last.jpg","params":{"w":7}}`) // no final newline

	args := []string{"--batch", "--base-url", "https://img.example.com/img/", "--expires", "2030-01-01T00:00:00Z"}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IMGPROXY_") {
			env = append(env, kv)
		}
	}
	env = append(env, "IMGPROXY_SIGNING_KEYS="+vectorKey)
	run := func(name string, argv ...string) (string, int) {
		cmd := exec.Command(name, argv...)
		cmd.Env, cmd.Dir = env, t.TempDir()
		cmd.Stdin = bytes.NewReader(in.Bytes())
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if errOut.Len() > 0 {
			t.Logf("%s: %s", filepath.Base(name), errOut.String())
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out.String(), code
	}
	goOut, goCode := run(bin, append([]string{"sign"}, args...)...)
	jsOut, jsCode := run("node", append([]string{script}, args...)...)
	if goCode != jsCode {
		t.Errorf("exit status: Go %d, Node %d", goCode, jsCode)
	}
	goLines, jsLines := strings.Split(goOut, "\n"), strings.Split(jsOut, "\n")
	if len(goLines) != lines+2 || len(jsLines) != lines+2 {
		t.Fatalf("%d input lines, Go wrote %d lines, Node %d", lines+1, len(goLines)-1, len(jsLines)-1)
	}
	signed, refused, bad := 0, 0, 0
	for i := range lines + 1 {
		g, j := goLines[i], jsLines[i]
		var go_, js batchResult
		if err := json.Unmarshal([]byte(g), &go_); err != nil {
			t.Fatalf("line %d: Go wrote %q: %v", i+1, g, err)
		}
		if err := json.Unmarshal([]byte(j), &js); err != nil {
			t.Fatalf("line %d: Node wrote %q: %v", i+1, j, err)
		}
		prefix := "line " + strconv.Itoa(i+1) + ": "
		switch {
		case go_.Error == "" && g == j:
			signed++
		case go_.Error != "" && js.Error != "" && go_.Key == js.Key &&
			strings.HasPrefix(go_.Error, prefix) && strings.HasPrefix(js.Error, prefix):
			refused++
		default:
			bad++
			if bad <= 20 {
				t.Errorf("line %d disagrees:\ninput %s\nGo    %s\nNode  %s", i+1, inputLine(in.Bytes(), i), g, j)
			}
		}
	}
	// The generator must reach both outcomes often, or it proves little.
	if signed < lines/5 || refused < lines/5 {
		t.Errorf("%d signed, %d refused of %d: the generator is lopsided", signed, refused, lines+1)
	}
	t.Logf("%d lines: %d signed identically, %d refused by both, %d disagree", lines+1, signed, refused, bad)
}

type batchResult struct {
	Key    string `json:"key"`
	URL    string `json:"url"`
	Srcset string `json:"srcset"`
	Error  string `json:"error"`
}

func inputLine(in []byte, i int) string {
	return fmt.Sprintf("%q", bytes.Split(in, []byte("\n"))[i])
}

// batchLine writes one input line: mostly objects close to valid, some
// broken on purpose.
func batchLine(r *rand.Rand) string {
	switch r.IntN(40) {
	case 0:
		return pick(r, "", " ", "\t", " \t \r", "\x0b", "\u00a0") // blank, and not quite blank
	case 1:
		return pick(r, `{"key":"a.jpg"`, `{"key":"a.jpg",}`, `{key:"a.jpg"}`, `{"key":'a'}`, `nul`, `{"key":"a.jpg"} x`,
			`{"key":"a\x01"}`, `{"key":"\x"}`, `{"key":"\u12"}`, `{"key":"a.jpg","params":{"w":01}}`,
			`{"key":"a.jpg","params":{"w":1.}}`, `{"key":"a.jpg","params":{"w":.5}}`, `{"key":"a.jpg","params":{"w":+1}}`,
			`{"key":"a.jpg","params":{"w":1e}}`, `{"key":"a.jpg","params":{"w":NaN}}`, `{"key":"a.jpg","params":{"w":Infinity}}`,
			"\ufeff{\"key\":\"a.jpg\"}", "{\"key\":\"a\xff.jpg\"}", "{\"key\":\"a\xe6\x97.jpg\"}", `TRUE`)
	case 2:
		return pick(r, `null`, `[]`, `[{"key":"a.jpg"}]`, `"a.jpg"`, `1`, `true`, `{}`)
	case 3:
		return `{"key":"a.jpg","widths":` + strings.Repeat("[", 1+r.IntN(3)) + strings.Repeat("]", 1+r.IntN(3)) + `}`
	}
	var fields []string
	if r.IntN(30) > 0 {
		fields = append(fields, `"key":`+jsonKey(r))
	}
	if r.IntN(4) > 0 {
		fields = append(fields, `"params":`+jsonParams(r))
	}
	if r.IntN(4) == 0 {
		fields = append(fields, `"widths":`+jsonWidths(r))
	}
	if r.IntN(25) == 0 {
		fields = append(fields, pick(r, `"Key":"b.jpg"`, `"KEY":"b.jpg"`, `"parms":{}`, `"width":[1]`, `"key":"dup.jpg"`,
			`"k\u0065y":"escaped-name.jpg"`, `"":1`, `"\u00e9":1`))
	}
	r.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	sep := pick(r, ",", ", ", " ,\t")
	return pick(r, "{", "{ ", " {") + strings.Join(fields, sep) + pick(r, "}", " }", "}  ")
}

func jsonKey(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0:
		return pick(r, `null`, `1`, `true`, `["a.jpg"]`, `{"a":1}`, `""`)
	case 1:
		return pick(r, `"/photos/a.jpg"`, `"a//b.jpg"`, `"a/../b"`, `"./a"`, `"a/"`)
	case 2:
		return pick(r, `"\ud800.jpg"`, `"a\udc00"`, `"\ud83d\ude00.jpg"`, `"\ud83d\u0041"`, `"\\ud800"`, `"\u00e9t\u00e9.jpg"`,
			`"a\u2028b.jpg"`, `"a\u0001"`, `"tab\tkey"`, `"q\"uote.jpg"`, `"back\\slash.jpg"`, `"s\/lash.jpg"`, `"\b\f"`)
	}
	var b strings.Builder
	b.WriteByte('"')
	for range 1 + r.IntN(12) {
		b.WriteString(pick(r, "a", "Z", "0", "9", "-", ".", "_", "~", " ", "+", "%", "&", "=", "?", "#", "é", "日本", "😀", "/", "ß", "<", "'"))
	}
	b.WriteString(pick(r, ".jpg", ".png", "", ".webp"))
	b.WriteByte('"')
	return b.String()
}

var batchParamNames = []string{"w", "h", "dpr", "fit", "position", "enlarge", "fm", "auto", "q", "blur", "sharpen",
	"rot", "flip", "bg", "v", "exp"}

func jsonParams(r *rand.Rand) string {
	switch r.IntN(25) {
	case 0:
		return pick(r, `null`, `[]`, `"w=1"`, `1`, `true`)
	}
	var kv []string
	for range r.IntN(4) {
		name := pick(r, batchParamNames...)
		switch r.IntN(30) {
		case 0:
			name = pick(r, "s", "width", "W", "", "é", "\\u0077", "x\\ud800")
		}
		kv = append(kv, strconv.Quote(name)+":"+jsonValue(r, name))
	}
	if r.IntN(15) == 0 && len(kv) > 0 {
		kv = append(kv, kv[0]) // a repeated name
	}
	return "{" + strings.Join(kv, ",") + "}"
}

// jsonValue writes a value for a parameter: as a string or as a number,
// written canonically or not.
func jsonValue(r *rand.Rand, name string) string {
	if r.IntN(12) == 0 {
		return pick(r, `null`, `true`, `false`, `[]`, `{}`, `[1]`, `""`)
	}
	var v string
	switch name {
	case "w", "h":
		v = pick(r, "1", "300", "400", "8192", "8193", "0", "-1", "-0", "400.0", "4e2", "4E2", "4e+2", "40e1", "0400", "1.5",
			"99999999999999999999", "1e400", "1"+strings.Repeat("0", 30))
	case "dpr", "blur", "sharpen":
		v = pick(r, "1", "1.5", "1.50", "2", "2.0", "2.25", "2.255", "0.3", "0.30", "3", "15e-1", "1.5e0", "4", "5", "100", "10", "-1")
	case "q":
		v = pick(r, "1", "80", "100", "101", "0", "80.0", "8e1", "080")
	case "exp":
		v = pick(r, "0", "5", "1893456000", "99999999999999999", "999999999999999999", "9999999999999999999", "1.8e9", "-5", "01")
	case "rot":
		v = pick(r, "90", "180", "270", "90.0", "9e1", "45")
	case "enlarge":
		v = pick(r, "1", "1.0", "0", "true")
	default:
		v = pick(r, "cover", "inside", "smart", "webp", "avif", "jpg", "format", "h", "hv", "ffffff", "FFFFFF", "abc_-9", "1", "x y", "é")
	}
	_, numErr := strconv.ParseFloat(v, 64)
	isNumber := numErr == nil || strings.HasPrefix(v, "99999") || strings.HasPrefix(v, "1e400")
	if isNumber && v[0] != '0' || v == "0" || strings.HasPrefix(v, "0.") {
		if r.IntN(2) == 0 {
			return v // a JSON number, as written
		}
	}
	return strconv.Quote(v)
}

func jsonWidths(r *rand.Rand) string {
	if r.IntN(10) == 0 {
		return pick(r, `null`, `[]`, `{}`, `"320"`, `320`)
	}
	var ws []string
	for range 1 + r.IntN(4) {
		ws = append(ws, pick(r, "320", "640", "320", "1", "8192", "9000", "0", "-320", "320.0", "3.2e2", `"320"`, "null",
			"9007199254740993", "1e400", "640"))
	}
	return "[" + strings.Join(ws, ",") + "]"
}

func pick(r *rand.Rand, choices ...string) string { return choices[r.IntN(len(choices))] }
