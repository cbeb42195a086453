package sign

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// maxLine bounds one input line of a batch.
const maxLine = 1 << 20

// batchIn is one input line.
type batchIn struct {
	Key    string                `json:"key"`
	Params map[string]paramValue `json:"params"`
	Widths []int                 `json:"widths"`
}

// batchOut is one output line; exactly one of URL and Error is set.
type batchOut struct {
	Key    string `json:"key"`
	URL    string `json:"url,omitempty"`
	Srcset string `json:"srcset,omitempty"`
	Error  string `json:"error,omitempty"`
}

// paramValue accepts a JSON string or number, so build tools can write
// {"w": 400} as well as {"w": "400"}.
type paramValue string

func (v *paramValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = paramValue(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("a parameter value must be a string or a number")
	}
	*v = paramValue(n)
	return nil
}

// Batch reads JSON lines from r and writes one JSON line per non-blank input
// line to w, in order: the URL (and srcset when widths are given), or the
// line's error. extra parameters (exp from --expires) are added to every line
// that does not set them itself. It returns how many lines failed; err is
// only for reading or writing.
func (s *Signer) Batch(r io.Reader, w io.Writer, extra []urlsig.Param) (failed int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // URLs hold '&'; keep them readable
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		out := s.batchLine(line, extra)
		if out.Error != "" {
			failed++
			out.Error = fmt.Sprintf("line %d: %s", lineNo, out.Error)
		}
		if err := enc.Encode(&out); err != nil {
			return failed, err
		}
	}
	if err := sc.Err(); err != nil {
		bw.Flush()
		return failed, fmt.Errorf("reading line %d: %w", lineNo+1, err)
	}
	return failed, bw.Flush()
}

func (s *Signer) batchLine(line []byte, extra []urlsig.Param) batchOut {
	var in batchIn
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields() // a misspelt "params" must not sign the original
	if err := dec.Decode(&in); err != nil {
		return batchOut{Key: in.Key, Error: "bad JSON: " + err.Error()}
	}
	if dec.More() {
		return batchOut{Key: in.Key, Error: "bad JSON: more than one value on the line"}
	}
	ps := make([]urlsig.Param, 0, len(in.Params)+len(extra))
	for n, v := range in.Params {
		ps = append(ps, urlsig.Param{Name: n, Value: string(v)})
	}
	for _, e := range extra {
		if _, ok := in.Params[e.Name]; !ok {
			ps = append(ps, e)
		}
	}
	url, err := s.URL(in.Key, ps)
	if err != nil {
		return batchOut{Key: in.Key, Error: err.Error()}
	}
	out := batchOut{Key: in.Key, URL: url}
	if in.Widths != nil {
		if out.Srcset, err = s.Srcset(in.Key, ps, in.Widths); err != nil {
			return batchOut{Key: in.Key, Error: err.Error()}
		}
	}
	return out
}
