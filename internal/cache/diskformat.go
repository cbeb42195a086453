package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// A disk entry is one file: a small header, then the body.
//
//	magic "IPXC" | version u8 | header length u32 | fields ... | body
//
// Fields, in order: content type, object key, origin ETag, the response's
// ETag (each a u16 length and bytes), body length u64, origin Last-Modified i64 (unix ns,
// 0 unknown), created i64 (unix ns), and last a CRC-32C u32 of everything
// else in the file, header and body, so that no flipped byte is served.
// Integers are big-endian.

const (
	diskMagic = "IPXC"
	// Version 2 added the response's ETag. Files of version 1 are never
	// looked up (the cache key changed with them) and read as corrupt.
	diskVersion = 2
	// fixed: magic, version, header length.
	diskPrefix = len(diskMagic) + 1 + 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errCorruptEntry is the kind of every decoding failure: the entry is
// deleted and the request is treated as a miss.
var errCorruptEntry = errors.New("corrupt cache entry")

// encodeEntry returns the file contents for e.
func encodeEntry(e *Entry) []byte {
	n := diskPrefix + 4*2 + len(e.ContentType) + len(e.ObjectKey) + len(e.OriginETag) + len(e.ETag) + 8 + 8 + 8 + 4
	b := make([]byte, 0, n+len(e.Body))
	b = append(b, diskMagic...)
	b = append(b, diskVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for _, s := range []string{e.ContentType, e.ObjectKey, e.OriginETag, e.ETag} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Body)))
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(e.LastModified)))
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(e.Created)))
	sum := crc32.Update(crc32.Checksum(b, crcTable), crcTable, e.Body)
	b = binary.BigEndian.AppendUint32(b, sum)
	return append(b, e.Body...)
}

// decodeEntry parses and verifies a file written by encodeEntry. The body
// shares b's memory.
func decodeEntry(b []byte) (*Entry, error) {
	if len(b) < diskPrefix || string(b[:4]) != diskMagic {
		return nil, fmt.Errorf("%w: no header", errCorruptEntry)
	}
	if b[4] != diskVersion {
		return nil, fmt.Errorf("%w: format version %d", errCorruptEntry, b[4])
	}
	hlen := int(binary.BigEndian.Uint32(b[5:]))
	if hlen < diskPrefix+4 || hlen > len(b) {
		return nil, fmt.Errorf("%w: header length %d of a %d-byte file", errCorruptEntry, hlen, len(b))
	}
	sum := binary.BigEndian.Uint32(b[hlen-4:])
	body := b[hlen:]
	if crc32.Update(crc32.Checksum(b[:hlen-4], crcTable), crcTable, body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorruptEntry)
	}
	r := reader{b: b[diskPrefix : hlen-4]}
	e := &Entry{ContentType: r.str(), ObjectKey: r.str(), OriginETag: r.str(), ETag: r.str()}
	bodyLen := r.u64()
	lm, created := int64(r.u64()), int64(r.u64())
	if r.bad {
		return nil, fmt.Errorf("%w: header cut short", errCorruptEntry)
	}
	if uint64(len(body)) != bodyLen {
		return nil, fmt.Errorf("%w: body is %d bytes, header says %d", errCorruptEntry, len(body), bodyLen)
	}
	e.Body = body
	e.LastModified = fromUnixNano(lm)
	e.Created = fromUnixNano(created)
	return e, nil
}

// reader reads header fields, remembering if it ran out.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.take(int(binary.BigEndian.Uint16(r.take(2))))) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
