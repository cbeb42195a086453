package sign

import (
	"strconv"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// fastBatchLine reads the lines nearly every batch consists of without
// encoding/json, which took three fifths of a batch's CPU (maps of raw
// messages, reflection, garbage). It accepts only a strict subset of the
// rules in batchline.go and says ok only when it read the whole line by
// them; anything else (escapes, floats, null values, repeated or unknown
// fields, malformed JSON) goes to parseBatchLine's full reading, which
// alone writes errors. On what it accepts, both readings agree
// (TestFastBatchLineAgrees, FuzzFastBatchLine). line is valid UTF-8.
func fastBatchLine(line []byte) (in batchIn, key string, ok bool) {
	p := fastReader{b: line}
	if !p.byte('{') {
		return in, "", false
	}
	var seen [3]bool // key, params, widths
	for first := true; ; first = false {
		p.space()
		if p.byte('}') {
			if first || !seen[0] || !p.end() {
				return in, "", false
			}
			return in, key, true
		}
		if !first && !p.byte(',') {
			return in, "", false
		}
		p.space()
		name, ok := p.str()
		if !ok || !p.colon() {
			return in, "", false
		}
		var field int
		switch name {
		case "key":
			field = 0
			key, ok = p.str()
		case "params":
			field = 1
			in.params, ok = p.params()
		case "widths":
			field = 2
			in.widths, ok = p.widths()
		default:
			return in, "", false
		}
		if !ok || seen[field] {
			return in, "", false
		}
		seen[field] = true
	}
}

// fastReader walks one line; every method reports false for what it does
// not take, leaving the line to the full reading.
type fastReader struct {
	b []byte
	i int
}

func (p *fastReader) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *fastReader) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastReader) colon() bool {
	p.space()
	ok := p.byte(':')
	p.space()
	return ok
}

// end reports whether only white space is left.
func (p *fastReader) end() bool {
	p.space()
	return p.i == len(p.b)
}

// null takes the literal null.
func (p *fastReader) null() bool {
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// str takes a string without escapes or control characters.
func (p *fastReader) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// integer takes a JSON integer (no fraction or exponent) as written.
func (p *fastReader) integer() ([]byte, bool) {
	start := p.i
	p.byte('-')
	digits := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || n > 1 && p.b[digits] == '0' {
		return nil, false // JSON has no leading zeros
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return nil, false
	}
	return p.b[start:p.i], true
}

// params takes null or an object of distinct names to strings or integers.
func (p *fastReader) params() ([]urlsig.Param, bool) {
	if p.null() {
		return nil, true
	}
	if !p.byte('{') {
		return nil, false
	}
	ps := make([]urlsig.Param, 0, 8)
	for first := true; ; first = false {
		p.space()
		if p.byte('}') {
			return ps, true
		}
		if !first && !p.byte(',') {
			return nil, false
		}
		p.space()
		name, ok := p.str()
		if !ok || !p.colon() || hasParam(ps, name) {
			return nil, false
		}
		var value string
		if p.i < len(p.b) && p.b[p.i] == '"' {
			value, ok = p.str()
		} else {
			var n []byte
			n, ok = p.integer()
			value = string(n)
		}
		if !ok {
			return nil, false
		}
		ps = append(ps, urlsig.Param{Name: name, Value: value})
	}
}

// widths takes null or an array of positive integers.
func (p *fastReader) widths() ([]int, bool) {
	if p.null() {
		return nil, true
	}
	if !p.byte('[') {
		return nil, false
	}
	ws := []int{}
	for first := true; ; first = false {
		p.space()
		if p.byte(']') {
			return ws, true
		}
		if !first && !p.byte(',') {
			return nil, false
		}
		p.space()
		tok, ok := p.integer()
		if !ok || tok[0] == '-' {
			return nil, false
		}
		n, err := strconv.Atoi(string(tok))
		if err != nil || n < 1 {
			return nil, false
		}
		ws = append(ws, n)
	}
}
