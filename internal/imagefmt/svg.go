package imagefmt

import "bytes"

// isSVG reports whether the document element of the XML in b is <svg>. It
// skips a UTF-8 byte order mark, whitespace, the XML declaration, processing
// instructions, comments and a doctype, then looks at the first element. An
// HTML page that embeds an <svg> is not SVG: its root is <html>.
func isSVG(b []byte) bool {
	if len(b) > sniffLimit {
		b = b[:sniffLimit]
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		var rest []byte
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			rest = skipPast(b[2:], "?>")
		case bytes.HasPrefix(b, []byte("<!--")):
			rest = skipPast(b[4:], "-->")
		case bytes.HasPrefix(b, []byte("<!")):
			rest = skipDoctype(b[2:])
		default:
			return len(b) > 4 && bytes.EqualFold(b[:4], []byte("<svg")) && isNameEnd(b[4])
		}
		if rest == nil {
			return false
		}
		b = rest
	}
}

// skipPast returns what follows the first end in b, or nil if there is none.
func skipPast(b []byte, end string) []byte {
	i := bytes.Index(b, []byte(end))
	if i < 0 {
		return nil
	}
	return b[i+len(end):]
}

// skipDoctype skips the body of a <!DOCTYPE ...>, including an internal subset
// in square brackets, whose entity declarations contain '>' characters.
func skipDoctype(b []byte) []byte {
	i := bytes.IndexAny(b, "[>")
	if i < 0 {
		return nil
	}
	if b[i] == '[' {
		b = skipPast(b[i:], "]")
		if b == nil {
			return nil
		}
		i = bytes.IndexByte(b, '>')
		if i < 0 {
			return nil
		}
	}
	return b[i+1:]
}

// isNameEnd reports whether c ends an element name, so that "<svgfoo>" is
// not taken for "<svg>".
func isNameEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '>', '/':
		return true
	}
	return false
}
