// Package cache keeps finished responses in three tiers (a byte-budgeted
// memory tier, the disk tier, and the shared tier every instance reads and
// writes in an S3 bucket), and coalesces requests so that concurrent misses
// for one variant cost one fill per instance.
//
// Integrity: no tier serves bytes that fail their CRC-32C. A disk entry is
// checked whole each time it is read into memory; with the memory tier off,
// a hit sends the file itself (sendfile) once this process has checked it
// and its identity has not changed since, rather than reading and summing
// every file on every hit: diskverified.go explains the choice and its
// trade.
package cache

import (
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Entry is a finished response body with what its headers need. Entries are
// immutable once stored: readers share them.
type Entry struct {
	Body         []byte
	ContentType  string
	LastModified time.Time // the original's, zero when unknown
	OriginETag   string    // the original's, "" when unknown
	ObjectKey    string    // so that purging an original finds its variants
	Created      time.Time // when the variant was made
	// ETag is the response's own entity tag, quoted; it changes whenever
	// the bytes served may (the caller derives it from the variant and the
	// original's identity). "" when unknown: no ETag is sent.
	ETag string

	hdrOnce sync.Once
	hdr     HeaderValues

	buf *[]byte // the pooled buffer Body lives in, when borrowed from disk

	// An entry served from its disk file (see diskverified.go) has no
	// Body: its bytes are bodyLen bytes of file from fileOff.
	file    *os.File
	fileOff int64
	bodyLen int64
}

// Len is the body's length in bytes.
func (e *Entry) Len() int64 {
	if e.Body != nil {
		return int64(len(e.Body))
	}
	return e.bodyLen
}

// Release ends the use of an entry from Cache.Lookup or Disk.Borrow, giving
// a borrowed entry's buffer back for reuse or closing its file: neither the
// entry nor its body may be used afterwards. Any other entry is shared, and
// Release does nothing to it, so callers release whatever they were given.
func (e *Entry) Release() {
	if e == nil {
		return
	}
	if e.buf != nil {
		putBuf(e.buf)
		e.buf = nil
		e.Body = nil
	}
	if e.file != nil {
		e.file.Close()
		e.file = nil
	}
}

// HeaderValues are an entry's response header values, formatted once and
// shared by every response of it: callers must not modify them.
type HeaderValues struct {
	ContentType, ContentLength, LastModified []string // LastModified nil when unknown
	ETag                                     []string // nil when unknown
}

// Headers returns the entry's header values, formatting them on first use,
// so that a hit costs no formatting and no allocation for them.
func (e *Entry) Headers() *HeaderValues {
	e.hdrOnce.Do(func() {
		e.hdr.ContentType = []string{e.ContentType}
		e.hdr.ContentLength = []string{strconv.FormatInt(e.Len(), 10)}
		if e.ETag != "" {
			e.hdr.ETag = []string{e.ETag}
		}
		if !e.LastModified.IsZero() {
			e.hdr.LastModified = []string{e.LastModified.UTC().Format(http.TimeFormat)}
		}
	})
	return &e.hdr
}

// size is what an entry costs against a byte budget: the body plus a rough
// allowance for the struct, strings and index.
func (e *Entry) size() int64 {
	return int64(len(e.Body)+len(e.ContentType)+len(e.ObjectKey)+len(e.OriginETag)+len(e.ETag)) + 256
}

// Tier says where a response came from; it is sent as X-Cache.
type Tier string

const (
	TierMemory Tier = "memory"
	TierDisk   Tier = "disk"
	TierShared Tier = "shared"
	TierMiss   Tier = "miss"
)
