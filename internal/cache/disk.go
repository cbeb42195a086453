package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/peterbourgon/diskv/v3"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// DiskConfig configures the disk tier.
type DiskConfig struct {
	Dir    string
	Size   int64         // byte budget of entry files
	MaxAge time.Duration // entries older than this are misses; 0: no limit
	Logger *slog.Logger
}

// Disk is the disk tier: finished responses in files under Dir, one
// directory per original (so purging an original removes its variants
// together), written atomically through diskv's temp directory, checked
// whole when read into memory and on a file's first borrowed read (later
// ones send the unchanged file as it is: diskverified.go says why), and
// kept under a byte budget by evicting the least recently used. Disk
// trouble, at start or later, degrades it to a tier that skips writes and
// retries by itself; it never fails a request. A lock on the directory
// keeps a second server out.
type Disk struct {
	dv      *diskv.Diskv
	dir     string
	entries string // Dir/entries
	tmp     string // Dir/tmp, diskv's temp directory
	index   *diskIndex
	maxAge  time.Duration
	// verified: files this process checked whole, served from the file
	// on later borrowed hits (diskverified.go).
	verified verifiedEntries
	log      *slog.Logger

	// writeMu makes reserving space, evicting and writing one step, so no
	// eviction can delete a file that is still being written (which would
	// leave it on disk but out of the budget). diskv serialises its writes
	// anyway, so this costs no concurrency.
	writeMu       sync.Mutex
	pause         time.Duration // writes skipped after a failed one
	degradedUntil atomic.Int64  // unix ns; writes are skipped until then
	failing       atomic.Bool   // in a failure episode (logged once)
	scanned       chan struct{}

	lockMu sync.Mutex
	lock   *os.File // the directory's lock file, held; nil when not (yet) taken
	closed bool

	hits, misses, corrupt, writeErrs, readErrs atomic.Int64
}

// degradedPause is how long writes are skipped after a write fails, so a
// full or read-only disk costs one failed write per pause, not per request.
const degradedPause = 5 * time.Second

// OpenDisk opens (creating if needed) the disk tier in cfg.Dir, takes the
// directory's lock, removes temp files a crash left behind, and starts
// rebuilding the index in the background; until it is done, entries not yet
// indexed are still found. It fails (ErrLocked) only when another server
// holds the directory: a directory that cannot be written opens degraded,
// serving what it can read and taking writes once it can.
func OpenDisk(cfg DiskConfig) (*Disk, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	entries := filepath.Join(cfg.Dir, "entries")
	tmp := filepath.Join(cfg.Dir, "tmp")
	d := &Disk{
		dv: diskv.New(diskv.Options{
			BasePath:          entries,
			TempDir:           tmp,
			AdvancedTransform: toPath,
			InverseTransform:  fromPath,
			PathPerm:          0o755,
			FilePerm:          0o644,
		}),
		dir:     cfg.Dir,
		entries: entries,
		tmp:     tmp,
		index:   newDiskIndex(cfg.Size),
		maxAge:  cfg.MaxAge,
		log:     cfg.Logger,
		pause:   degradedPause,
		scanned: make(chan struct{}),
	}
	if err := d.setUp(); err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, err
		}
		d.degrade("disk cache: directory not usable at start", err)
	}
	go d.rebuild()
	return d, nil
}

// setUp takes the lock and readies the directory for writes.
func (d *Disk) setUp() error {
	if err := d.holdLock(); err != nil {
		return err
	}
	for _, dir := range []string{d.entries, d.tmp} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// A temp file is an entry a crash interrupted: never complete, never
	// renamed into place. Nothing else writes here: we hold the lock.
	if err := cleanDir(d.tmp); err != nil {
		return fmt.Errorf("cleaning temp files: %w", err)
	}
	return probeWritable(d.tmp)
}

// holdLock makes sure this tier holds the directory's lock before it
// writes: taken at start, or later when the directory was unusable then, or
// again when the directory was replaced under it (the lock it holds is then
// on a file that is gone, and keeps nobody out).
func (d *Disk) holdLock() error {
	d.lockMu.Lock()
	defer d.lockMu.Unlock()
	if d.closed {
		return errClosed
	}
	if d.lock != nil && sameFile(d.lock, filepath.Join(d.dir, lockName)) {
		return nil
	}
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	f, err := lockDir(d.dir)
	if err != nil {
		return err
	}
	d.lock = f
	return nil
}

// Close releases the directory's lock, so that another server may take it;
// the tier writes nothing after. A nil Disk closes as a no-op.
func (d *Disk) Close() error {
	if d == nil {
		return nil
	}
	d.writeMu.Lock() // let a write in flight finish under the lock
	defer d.writeMu.Unlock()
	d.lockMu.Lock()
	defer d.lockMu.Unlock()
	d.closed = true
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}

// degrade skips writes for the pause after a failure, logging only the
// first failure of an episode.
func (d *Disk) degrade(msg string, err error) {
	d.writeErrs.Add(1)
	d.degradedUntil.Store(time.Now().Add(d.pause).UnixNano())
	if !d.failing.Swap(true) {
		d.log.Error(msg+"; serving from memory and origin, retrying every "+d.pause.String(), "dir", d.dir, "err", err)
	}
}

// diskKey names a variant on disk: the original's hash, a slash, the
// variant's cache key. Both are hex, so no key can form a path of its own.
func diskKey(objectKey string, key params.Key) string {
	return objectDir(objectKey) + "/" + hex.EncodeToString(key[:])
}

// objectDir is the hex name of an original's directory.
func objectDir(objectKey string) string {
	h := sha256.Sum256([]byte(objectKey))
	return hex.EncodeToString(h[:16])
}

// toPath spreads originals over 256 directories: entries/ab/ab12…/<variant>.
func toPath(key string) *diskv.PathKey {
	obj, variant := key[:32], key[33:]
	return &diskv.PathKey{Path: []string{obj[:2], obj}, FileName: variant}
}

// fromPath is toPath's inverse; it returns "" for anything that is not an
// entry file.
func fromPath(p *diskv.PathKey) string {
	if len(p.Path) != 2 {
		return ""
	}
	return entryName(p.Path[0], p.Path[1], p.FileName)
}

// entryName is the key of the entry at <ab>/<original's hash>/<variant's
// key>, or "" when those are not the names toPath makes.
func entryName(ab, obj, variant string) string {
	if len(obj) != 32 || ab != obj[:2] || len(variant) != 64 || !isHex(obj) || !isHex(variant) {
		return ""
	}
	return obj + "/" + variant
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Get returns the entry, verified, or false. A corrupt, truncated, stale or
// unreadable entry is removed and counted, and is a miss. The entry is the
// caller's to keep.
func (d *Disk) Get(objectKey string, key params.Key) (*Entry, bool) {
	return d.get(objectKey, key, false)
}

// Borrow is Get for an entry that is used once and then released
// (Entry.Release): its body lives in a recycled buffer.
func (d *Disk) Borrow(objectKey string, key params.Key) (*Entry, bool) {
	return d.get(objectKey, key, true)
}

func (d *Disk) get(objectKey string, key params.Key, borrow bool) (*Entry, bool) {
	k := diskKey(objectKey, key)
	name := d.entries + "/" + k[:2] + "/" + k
	if borrow {
		if e, ok := d.openVerified(k, name); ok {
			return e, d.hit(k, e.Len())
		}
	}
	b, buf, id, err := readEntryFile(name, borrow)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.readErrs.Add(1)
			// A broken directory fails every read: the failure that
			// degraded the tier was logged once, and that is enough.
			if !d.failing.Load() {
				d.log.Warn("disk cache: read failed", "key", objectKey, "err", err)
			}
		}
		// The index entry stays: it may be a reservation for a write in
		// flight, and dropping it would leave that file outside the budget.
		// An entry whose file is gone costs budget until it is evicted.
		d.misses.Add(1)
		return nil, false
	}
	e, err := decodeEntry(b)
	if err != nil {
		putBuf(buf)
		d.corrupt.Add(1)
		d.log.Warn("disk cache: corrupt entry removed", "key", objectKey, "file", k, "err", err)
		d.erase(k)
		d.misses.Add(1)
		return nil, false
	}
	e.buf = buf
	if d.maxAge > 0 && time.Since(e.Created) > d.maxAge {
		e.Release()
		d.erase(k)
		d.misses.Add(1)
		return nil, false
	}
	if borrow {
		d.verified.record(k, id, int64(len(b)-len(e.Body)), e)
	}
	return e, d.hit(k, int64(len(b)))
}

// openVerified serves a hit from a file this process checked before and
// that has not changed since, or reports false, for the caller to read and
// check the file whole.
func (d *Disk) openVerified(k, name string) (*Entry, bool) {
	rec := d.verified.get(k)
	if rec == nil {
		return nil, false
	}
	f, err := openFile(name)
	if err != nil {
		return nil, false
	}
	fi, err := f.Stat()
	if err != nil || identity(fi) != rec.id || d.maxAge > 0 && time.Since(rec.meta.Created) > d.maxAge {
		f.Close()
		d.verified.remove(k)
		return nil, false
	}
	return rec.fileEntry(f), true
}

// hit counts a hit of entry k, whose file is size bytes, and marks it
// recently used. It returns true.
func (d *Disk) hit(k string, size int64) bool {
	if !d.index.touch(k) {
		// Found before the rebuild reached it, or written by a previous run.
		d.eraseAll(d.index.add(k, size))
	}
	d.hits.Add(1)
	return true
}

// readEntryFile reads a whole entry file into a buffer of its exact size,
// pooled when borrow is set (then buf is that buffer, for putBuf). Read
// directly rather than through diskv.Read, which takes diskv's lock (held
// by every write) and grows its buffer as it reads: one open, one stat, one
// read. The file cannot change under the open descriptor: diskv replaces
// entries by renaming.
func readEntryFile(name string, borrow bool) (b []byte, buf *[]byte, id fileID, err error) {
	f, err := openFile(name)
	if err != nil {
		return nil, nil, id, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, id, err
	}
	n := int(st.Size())
	if borrow {
		b, buf = getBuf(n)
	} else {
		b = make([]byte, n)
	}
	if _, err := io.ReadFull(f, b); err != nil {
		putBuf(buf)
		return nil, nil, id, err
	}
	return b, buf, identity(st), nil
}

// Put stores e. Failures are logged and counted, never returned: the disk
// tier is an optimisation.
func (d *Disk) Put(key params.Key, e *Entry) {
	if time.Now().UnixNano() < d.degradedUntil.Load() {
		return
	}
	k := diskKey(e.ObjectKey, key)
	b := encodeEntry(e)
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if err := d.holdLock(); err != nil {
		if !errors.Is(err, errClosed) {
			d.degrade("disk cache: cannot lock the directory", err)
		}
		return
	}
	d.eraseAll(d.index.reserve(k, int64(len(b))))
	if err := d.dv.Write(k, b); err != nil {
		d.index.remove(k)
		d.degrade("disk cache: write failed", err)
		return
	}
	if d.failing.Swap(false) {
		d.log.Info("disk cache: writing again")
	}
}

// Purge removes every variant of an original and returns the keys of the
// variants whose files it removed, indexed or not. An error means some
// files are still there, and would still be served.
func (d *Disk) Purge(objectKey string) ([]params.Key, error) {
	dir := objectDir(objectKey)
	path := filepath.Join(d.entries, dir[:2], dir)
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	ents, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil // nothing there, or no directory at all (degraded)
	}
	// The index learns of the variants from their directory: no walk over
	// every entry of every original (writes, which add to both, wait).
	var keys []params.Key
	for _, e := range ents {
		var k params.Key
		if n, herr := hex.Decode(k[:], []byte(e.Name())); herr == nil && n == len(k) {
			keys = append(keys, k)
			d.index.remove(dir + "/" + e.Name())
			d.verified.remove(dir + "/" + e.Name())
		}
	}
	// The whole directory: it also holds entries not indexed yet.
	if rerr := os.RemoveAll(path); rerr != nil {
		return nil, fmt.Errorf("disk cache: removing the variants of %q: %w", objectKey, rerr)
	}
	return keys, nil
}

func (d *Disk) erase(k string) {
	d.index.remove(k)
	d.verified.remove(k)
	if err := d.dv.Erase(k); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("disk cache: could not remove entry", "file", k, "err", err)
	}
}

func (d *Disk) eraseAll(keys []string) {
	for _, k := range keys {
		if err := d.dv.Erase(k); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("disk cache: could not evict entry", "file", k, "err", err)
		}
	}
}

// Writable reports whether the cache directory takes writes right now (for
// /readyz), taking the directory's lock if the tier does not hold it yet.
// Its error says why not without naming the directory, for a public
// answer. When the directory is usable again after a failure, the next
// write is tried at once rather than after the pause, so a server that
// readiness probes keep out of rotation, and so gets no writes, recovers. A
// nil Disk, no disk tier, is always writable.
func (d *Disk) Writable() error {
	if d == nil {
		return nil
	}
	err := d.holdLock()
	if err == nil {
		err = os.MkdirAll(d.tmp, 0o755)
	}
	if err == nil {
		err = probeWritable(d.tmp)
	}
	if err != nil {
		return fmt.Errorf("disk cache degraded: %s", publicReason(err))
	}
	if d.failing.Load() {
		d.degradedUntil.Store(0)
	}
	return nil
}

// publicReason says why the directory is unusable without its path.
func publicReason(err error) string {
	var le *lockedError
	var pe *fs.PathError
	switch {
	case errors.As(err, &le):
		return "another server (" + le.holder() + ") holds the cache directory"
	case errors.Is(err, errClosed):
		return err.Error()
	case errors.As(err, &pe):
		return "cache directory not writable: " + pe.Err.Error()
	}
	return "cache directory not writable"
}

// WaitScanned blocks until the start-up index rebuild is done.
func (d *Disk) WaitScanned() { <-d.scanned }

// DiskStats is a snapshot of the disk tier.
type DiskStats struct {
	Entries     int
	Used        int64
	Budget      int64
	Evictions   int64
	Hits        int64
	Misses      int64
	Corrupt     int64
	WriteErrors int64
	ReadErrors  int64
	Degraded    bool // writes are being skipped after a failure
	Scanning    bool // the start-up rebuild is still going
}

// Stats returns the disk tier's counters.
func (d *Disk) Stats() DiskStats {
	n, used, ev := d.index.stats()
	s := DiskStats{
		Entries: n, Used: used, Budget: d.index.budget, Evictions: ev,
		Hits: d.hits.Load(), Misses: d.misses.Load(), Corrupt: d.corrupt.Load(),
		WriteErrors: d.writeErrs.Load(), ReadErrors: d.readErrs.Load(),
		Degraded: d.failing.Load(),
	}
	select {
	case <-d.scanned:
	default:
		s.Scanning = true
	}
	return s
}

// cleanDir removes everything inside dir.
func cleanDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
