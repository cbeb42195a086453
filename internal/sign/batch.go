package sign

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"unicode/utf8"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// maxLine bounds one input line of a batch.
const maxLine = 1 << 20

// batchOut is one output line; exactly one of URL and Error is set.
type batchOut struct {
	Key    string `json:"key"`
	URL    string `json:"url,omitempty"`
	Srcset string `json:"srcset,omitempty"`
	// With lookups: the original's version, the size of the image url
	// returns (of the largest candidate with a srcset), and a placeholder.
	V             string `json:"v,omitempty"`
	Width, Height int    `json:"-"`
	Placeholder   string `json:"placeholder,omitempty"`
	Error         string `json:"error,omitempty"`
}

// BatchOptions shape a batch beyond its lines.
type BatchOptions struct {
	// Extra parameters (exp from --expires) are added to every line that
	// does not set them itself.
	Extra []urlsig.Param
	// Originals, when set, looks every line's original up: its URLs get v,
	// its output line v, width, height and, when Originals makes them, a
	// placeholder.
	Originals *Originals
	// Lookups bounds the lookups in flight; 0 is DefaultLookups.
	Lookups int
}

// DefaultLookups is how many originals a batch looks up at once: enough to
// hide an S3 round trip, few enough not to look like a flood to the origin.
const DefaultLookups = 16

// batchChunk is how many lines one worker signs at a time: large enough
// that handing chunks around costs nothing, small enough to keep every
// core busy and memory flat.
const batchChunk = 512

// chunk is a run of input lines and, once signed, their output.
type chunk struct {
	lines  [][]byte
	first  int // line number of lines[0]
	out    bytes.Buffer
	failed int
	fatal  error // the origin failed: the batch stops here
	done   chan struct{}
}

// Batch reads JSON lines from r and writes one JSON line per input line to
// w, in order (a blank line gets an error, so that output line n always
// answers input line n): the URL (and srcset when widths are given), or the
// line's error. extra parameters (exp from --expires) are added to every line
// that does not set them itself. Lines are signed in parallel, one chunk per
// core, and written in input order. It returns how many lines failed; err is
// only for reading or writing.
func (s *Signer) Batch(r io.Reader, w io.Writer, extra []urlsig.Param) (failed int, err error) {
	return s.BatchWith(context.Background(), r, w, BatchOptions{Extra: extra})
}

// BatchWith is Batch with lookups at the origin when o.Originals is set.
// Lines are then signed o.Lookups at a time, each in its own turn, still
// written in input order. A line whose original is missing, too large or
// damaged gets an error like any bad line; an origin that fails (no
// answer, refused credentials) stops the batch with one error, after the
// lines before it are written.
func (s *Signer) BatchWith(ctx context.Context, r io.Reader, w io.Writer, o BatchOptions) (failed int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers, size := runtime.GOMAXPROCS(0), batchChunk
	if o.Originals != nil {
		workers, size = o.Lookups, 1
		if workers <= 0 {
			workers = DefaultLookups
		}
	}
	todo := make(chan *chunk, workers)
	ordered := make(chan *chunk, 2*workers)
	for range workers {
		go func() {
			for c := range todo {
				s.signChunk(ctx, c, o)
				close(c.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		lineNo := 0
		c := &chunk{first: 1, done: make(chan struct{})}
		flush := func() {
			todo <- c
			ordered <- c
		}
		for ctx.Err() == nil && sc.Scan() {
			lineNo++
			if len(c.lines) == 0 {
				c.first = lineNo
			}
			c.lines = append(c.lines, bytes.Clone(sc.Bytes()))
			if len(c.lines) == size {
				flush()
				c = &chunk{done: make(chan struct{})}
			}
		}
		if len(c.lines) > 0 {
			flush()
		}
		if err := sc.Err(); err != nil {
			readErr <- fmt.Errorf("reading line %d: %w", lineNo+1, err)
		}
		close(readErr)
	}()

	bw := bufio.NewWriterSize(w, 64<<10)
	var fatal error
	for c := range ordered {
		<-c.done
		if fatal != nil {
			continue // draining, after the origin failed
		}
		failed += c.failed
		if err == nil {
			_, err = bw.Write(c.out.Bytes())
		}
		if c.fatal != nil {
			fatal = c.fatal
			cancel()
		}
	}
	if fatal != nil && err == nil {
		err = fmt.Errorf("the origin failed; stopped at %w", fatal)
	}
	if rerr := <-readErr; rerr != nil && err == nil {
		err = rerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return failed, err
}

// signChunk signs a chunk's lines into its output buffer.
func (s *Signer) signChunk(ctx context.Context, c *chunk, o BatchOptions) {
	var b []byte
	for i, line := range c.lines {
		out, fatal := s.batchLine(ctx, line, o)
		if fatal != nil {
			c.fatal = fmt.Errorf("line %d (%q): %w", c.first+i, out.Key, fatal)
			return
		}
		if out.Error != "" {
			c.failed++
			out.Error = fmt.Sprintf("line %d: %s", c.first+i, out.Error)
		}
		b = out.appendJSON(b[:0])
		c.out.Write(b)
	}
}

// appendJSON appends o as one JSON line, fields in a fixed order, without
// escaping '&' and '<' as encoding/json does by default: URLs stay
// readable. It is what json.Encoder with SetEscapeHTML(false) writes, at a
// fraction of the cost.
func (o *batchOut) appendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = appendJSONString(b, o.Key)
	if o.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, o.Error)
		return append(b, "}\n"...)
	}
	b = append(b, `,"url":`...)
	b = appendJSONString(b, o.URL)
	if o.Srcset != "" {
		b = append(b, `,"srcset":`...)
		b = appendJSONString(b, o.Srcset)
	}
	if o.V != "" {
		b = append(b, `,"v":`...)
		b = appendJSONString(b, o.V)
		b = append(b, `,"width":`...)
		b = strconv.AppendInt(b, int64(o.Width), 10)
		b = append(b, `,"height":`...)
		b = strconv.AppendInt(b, int64(o.Height), 10)
	}
	if o.Placeholder != "" {
		b = append(b, `,"placeholder":`...)
		b = appendJSONString(b, o.Placeholder)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced, U+2028 and U+2029
// escaped (JavaScript reads them as line ends), as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
