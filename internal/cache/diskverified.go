package cache

import (
	"io"
	"os"
	"sync"
)

// A disk hit reads and checksums the whole entry file the first time this
// process serves it, and remembers that it did, by the file's identity
// (device, inode, size and modification time, fileID). Later hits of the
// same file open it, compare its identity with one fstat, and send the body
// from the file itself (sendfile(2) on a plain TCP connection): no read
// into memory, no checksum, no copy. A file that changed since (replaced:
// every write here is a rename, so a new inode; or rewritten in place: a
// new modification time) is read and checked whole again.
//
// What this trades: a file corrupted in place without a change of size or
// modification time (a flipped bit on the medium, an editor that restores
// the time) is served as it is until this process restarts or the record
// is dropped, instead of being caught on the next hit. Files are only ever
// written whole through a temporary file and a rename, so the corruption
// the checksum exists for (a crash mid-write, a full disk, another program
// writing into the directory) changes the identity and is still caught.
// `imgproxy cache stats --verify` checks every file's checksum.
//
// The record holds up to maxVerified entries (about 200 bytes each); past
// that an arbitrary one is dropped, and its file is checked again on its
// next hit.
const maxVerified = 1 << 16

type verifiedEntries struct {
	mu sync.Mutex
	m  map[string]*verified
}

// verified is what a checked entry file's hits need: its identity, where
// its body starts, and its header fields with their response values
// formatted once.
type verified struct {
	id      fileID
	bodyOff int64
	meta    *Entry // Body nil; header values formatted
}

func (v *verifiedEntries) get(k string) *verified {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[k]
}

func (v *verifiedEntries) add(k string, rec *verified) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]*verified{}
	}
	if _, ok := v.m[k]; !ok && len(v.m) >= maxVerified {
		for old := range v.m {
			delete(v.m, old)
			break
		}
	}
	v.m[k] = rec
}

func (v *verifiedEntries) remove(k string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, k)
}

// record remembers e, just decoded and verified from a file of identity id
// whose body starts at bodyOff.
func (v *verifiedEntries) record(k string, id fileID, bodyOff int64, e *Entry) {
	meta := &Entry{ContentType: e.ContentType, LastModified: e.LastModified, OriginETag: e.OriginETag,
		ObjectKey: e.ObjectKey, Created: e.Created, ETag: e.ETag, bodyLen: int64(len(e.Body))}
	meta.Headers()
	v.add(k, &verified{id: id, bodyOff: bodyOff, meta: meta})
}

// fileEntry is an entry whose body is sent from f, which it owns (Release
// closes it).
func (rec *verified) fileEntry(f *os.File) *Entry {
	m := rec.meta
	e := &Entry{ContentType: m.ContentType, LastModified: m.LastModified, OriginETag: m.OriginETag,
		ObjectKey: m.ObjectKey, Created: m.Created, ETag: m.ETag,
		file: f, fileOff: rec.bodyOff, bodyLen: m.bodyLen}
	e.hdrOnce.Do(func() { e.hdr = m.hdr })
	return e
}

// WriteBody writes the entry's body to w: from memory, or for an entry
// served from its file, from the file, through w's ReadFrom when it has
// one (net/http's uses sendfile).
func (e *Entry) WriteBody(w io.Writer) (int64, error) {
	if e.file == nil {
		n, err := w.Write(e.Body)
		return int64(n), err
	}
	if _, err := e.file.Seek(e.fileOff, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, &io.LimitedReader{R: e.file, N: e.bodyLen})
}
