package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// One batch line, read by rules that scripts/sign.mjs follows too, so that
// both signers refuse exactly the same lines:
//
//   - the line must be valid UTF-8 and one JSON object (a blank line is an
//     error of its own) with no fields but "key", "params" and "widths",
//     matched exactly; a repeated field counts once, the last;
//   - "key" is a string, and not one with an unpaired surrogate escape
//     ("\ud800"), which names no UTF-8 object key;
//   - a parameter value is a string, or a number taken as written: the
//     number's text must be the canonical value, so 400.0, 4e2 and 1.50
//     are refused as "400.0" in a URL would be; null is refused;
//   - "widths" is null or an array of numbers written as canonical
//     integers; "params" may be null.
//
// encoding/json into a struct would match field names case-insensitively,
// turn 400.0 into 400 and \ud800 into U+FFFD: a different key or value
// than the line says. Raw messages keep what was written.

// batchLine signs one input line. fatal is an error of the origin's, which
// stops the batch; the line's own errors are in the output.
func (s *Signer) batchLine(ctx context.Context, line []byte, o BatchOptions) (out batchOut, fatal error) {
	in, key, err := parseBatchLine(line)
	if err != nil {
		return batchOut{Key: key, Error: err.Error()}, nil
	}
	ps := make([]urlsig.Param, 0, len(in.params)+len(o.Extra)+1)
	ps = append(ps, in.params...)
	for _, e := range o.Extra {
		if !hasParam(in.params, e.Name) {
			ps = append(ps, e)
		}
	}
	if o.Originals != nil && hasParam(ps, "v") {
		return batchOut{Key: key, Error: `"v" is the original's version, set from the origin with --from-origin: drop it from params`}, nil
	}
	url, err := s.URL(key, ps)
	if err != nil {
		return batchOut{Key: key, Error: err.Error()}, nil
	}
	out = batchOut{Key: key, URL: url}
	var orig *Original
	if o.Originals != nil {
		// Only a line that signs costs a lookup.
		r, err := o.Originals.Lookup(ctx, key)
		if err != nil && !errors.Is(err, ErrOriginal) {
			return batchOut{Key: key}, err
		}
		if err != nil {
			return batchOut{Key: key, Error: err.Error()}, nil
		}
		orig = &r
		ps = append(ps, urlsig.Param{Name: "v", Value: r.Version})
		b, opts, err := s.appendURL(nil, key, ps)
		if err != nil {
			return batchOut{Key: key, Error: err.Error()}, nil
		}
		size := r.output(&opts)
		out = batchOut{Key: key, URL: string(b), V: r.Version, Width: size.Width, Height: size.Height, Placeholder: r.Placeholder}
	}
	if in.widths != nil {
		set, largest, err := s.srcset(key, ps, in.widths, orig)
		if err != nil {
			return batchOut{Key: key, Error: err.Error()}, nil
		}
		out.Srcset = set
		if orig != nil {
			out.Width, out.Height = largest.Width, largest.Height
		}
	}
	return out, nil
}

type batchIn struct {
	params []urlsig.Param
	widths []int // nil when absent or null
}

// parseBatchLine returns the line's parameters and widths, and its key
// whenever "key" is a string, even when something else is wrong, so the
// error line says which image failed.
func parseBatchLine(line []byte) (in batchIn, key string, err error) {
	if len(bytes.Trim(line, " \t\r\n")) == 0 {
		return in, "", errors.New("blank line: want one JSON object per line")
	}
	if !utf8.Valid(line) {
		return in, "", errors.New("bad JSON: not valid UTF-8")
	}
	if in, key, ok := fastBatchLine(line); ok {
		return in, key, nil
	}
	return fullBatchLine(line)
}

// fullBatchLine is parseBatchLine's reading of any line by all the rules,
// with encoding/json.
func fullBatchLine(line []byte) (in batchIn, key string, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return in, "", errors.New("bad JSON: want an object")
		}
		return in, "", fmt.Errorf("bad JSON: %w", err)
	}
	if fields == nil {
		return in, "", errors.New("bad JSON: want an object")
	}
	raw, hasKey := fields["key"]
	keyIsString := hasKey && len(raw) > 0 && raw[0] == '"'
	if keyIsString {
		if err := json.Unmarshal(raw, &key); err != nil {
			return in, "", fmt.Errorf("bad JSON: %w", err)
		}
	}
	for name := range fields {
		if name != "key" && name != "params" && name != "widths" {
			return in, key, fmt.Errorf("bad JSON: unknown field %q (want key, params, widths)", name)
		}
	}
	if !keyIsString {
		return in, key, errors.New(`"key" must be a string (the object key)`)
	}
	if loneSurrogate(raw) {
		return in, key, errors.New("object key has an unpaired surrogate escape: it names no UTF-8 key")
	}
	if in.params, err = parseParams(fields["params"]); err != nil {
		return in, key, err
	}
	if in.widths, err = parseWidthList(fields["widths"]); err != nil {
		return in, key, err
	}
	return in, key, nil
}

func parseParams(raw json.RawMessage) ([]urlsig.Param, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, errors.New(`"params" must be an object of parameter names to values`)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	ps := make([]urlsig.Param, 0, len(m))
	for name, v := range m {
		value, err := paramValue(v)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", name, err)
		}
		ps = append(ps, urlsig.Param{Name: name, Value: value})
	}
	return ps, nil
}

// paramValue is a string's value or a number's text.
func paramValue(v json.RawMessage) (string, error) {
	switch c := v[0]; {
	case c == '"':
		// The common case, a plain string, without a second decoder pass.
		if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 {
			return string(inner), nil
		}
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case c == '-' || '0' <= c && c <= '9':
		return string(v), nil
	}
	return "", errors.New("want a string or a number")
}

func parseWidthList(raw json.RawMessage) ([]int, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var list []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, errors.New(`"widths" must be an array of whole numbers`)
	}
	ws := make([]int, 0, len(list))
	for _, v := range list {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || v[0] == '0' {
			return nil, fmt.Errorf("widths: want positive whole numbers without sign, decimals or exponent, got %s", v)
		}
		ws = append(ws, n)
	}
	return ws, nil
}

func hasParam(ps []urlsig.Param, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// loneSurrogate reports whether a JSON string token escapes half of a
// surrogate pair without the other half, which encoding/json would quietly
// turn into U+FFFD.
func loneSurrogate(tok []byte) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] != '\\' {
			continue
		}
		i++
		if i >= len(tok) || tok[i] != 'u' {
			continue
		}
		r := hex4(tok[i+1:])
		i += 4
		switch {
		case 0xdc00 <= r && r < 0xe000:
			return true
		case 0xd800 <= r && r < 0xdc00:
			if len(tok) < i+7 || tok[i+1] != '\\' || tok[i+2] != 'u' {
				return true
			}
			if lo := hex4(tok[i+3:]); lo < 0xdc00 || lo >= 0xe000 {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads four hex digits (json has checked they are).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			r = r<<4 | rune(c-'a'+10)
		}
	}
	return r
}
