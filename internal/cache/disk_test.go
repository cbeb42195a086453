package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

func openDisk(t *testing.T, dir string, size int64) *Disk {
	t.Helper()
	d, err := OpenDisk(DiskConfig{Dir: dir, Size: size, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.WaitScanned()
	return d
}

func variant(obj string, n int) params.Key {
	return params.CacheKey(fmt.Sprintf("/%s?w=%d", obj, n), params.FormatDefault)
}

func body(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func put(d *Disk, obj string, n, size int) *Entry {
	e := &Entry{Body: body(size, byte(n)), ContentType: "image/webp", ObjectKey: obj, OriginETag: `"abc"`,
		LastModified: time.Unix(1_700_000_000, 0), Created: time.Now()}
	d.Put(variant(obj, n), e)
	return e
}

// dirBytes sums the sizes of entry and temp files under dir (not the lock
// file's few bytes).
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() && de.Name() != lockName {
			if info, err := de.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// entryFiles lists the entry files under dir.
func entryFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "entries", "*", "*", "*"))
	return files
}

func TestDiskRoundTrip(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	want := put(d, "photos/cat.jpg", 1, 1000)
	got, ok := d.Get("photos/cat.jpg", variant("photos/cat.jpg", 1))
	if !ok || !bytes.Equal(got.Body, want.Body) || got.ContentType != want.ContentType ||
		got.OriginETag != want.OriginETag || !got.LastModified.Equal(want.LastModified) ||
		got.ObjectKey != want.ObjectKey || !got.Created.Equal(want.Created) {
		t.Fatalf("round trip: %+v", got)
	}
	if _, ok := d.Get("photos/cat.jpg", variant("photos/cat.jpg", 2)); ok {
		t.Error("hit for a variant never stored")
	}
	if s := d.Stats(); s.Entries != 1 || s.Hits != 1 || s.Misses != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Borrowed entries are the same as kept ones, read from memory the first
// time and sent from their files after; a recycled buffer never shows bytes
// of the entry that used it before.
func TestDiskBorrow(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	var want [][]byte
	for n, size := range []int{6000, 5000, 100, 70_000, 5} {
		want = append(want, put(d, "a.jpg", n, size).Body)
	}
	for round := 0; round < 3; round++ {
		for n := range want {
			got, ok := d.Borrow("a.jpg", variant("a.jpg", n))
			if !ok || !bytes.Equal(bodyOf(t, got), want[n]) || got.ContentType != "image/webp" ||
				got.Headers().ContentLength[0] != strconv.Itoa(len(want[n])) {
				t.Fatalf("round %d, entry %d: ok %v, %d bytes", round, n, ok, got.Len())
			}
			if fromFile := got.file != nil; fromFile != (round > 0) {
				t.Errorf("round %d, entry %d: sent from its file: %v", round, n, fromFile)
			}
			file := got.file
			got.Release()
			if got.Body != nil || got.file != nil {
				t.Fatal("a released entry still has its body")
			}
			if file != nil && file.Close() == nil {
				t.Error("Release left the entry's file open")
			}
		}
	}
	var shared Entry
	shared.Body = []byte("kept")
	shared.Release() // not borrowed: nothing happens
	if string(shared.Body) != "kept" {
		t.Error("Release changed an entry that was not borrowed")
	}
}

// bodyOf is what the entry's WriteBody writes.
func bodyOf(t *testing.T, e *Entry) []byte {
	t.Helper()
	var b bytes.Buffer
	if n, err := e.WriteBody(&b); err != nil || n != e.Len() {
		t.Fatalf("WriteBody: %d of %d bytes, %v", n, e.Len(), err)
	}
	return b.Bytes()
}

// A file checked once is sent from disk unread; one that changed since is
// read and checked whole again: replaced by another file (as every write
// here is), or rewritten in place (a new modification time). A file
// corrupted in place with its size and time kept is the documented trade:
// served as it is by a borrowed hit, caught by a full read (the memory
// tier's Get, cache stats --verify).
func TestDiskVerifiedOnce(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	want := put(d, "a.jpg", 1, 40_000).Body
	k := diskKey("a.jpg", variant("a.jpg", 1))
	name := filepath.Join(d.entries, k[:2], k)
	borrow := func() (*Entry, bool) {
		t.Helper()
		e, ok := d.Borrow("a.jpg", variant("a.jpg", 1))
		if ok {
			t.Cleanup(e.Release)
		}
		return e, ok
	}
	corrupt := func(keepTime bool) {
		t.Helper()
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(name)
		raw[len(raw)-100] ^= 0xff
		f, err := os.OpenFile(name, os.O_WRONLY, 0) // in place: the same inode
		if err == nil {
			_, err = f.WriteAt(raw, 0)
			f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		if keepTime {
			os.Chtimes(name, fi.ModTime(), fi.ModTime())
		}
	}

	borrow() // checked whole
	e, ok := borrow()
	if !ok || e.file == nil || !bytes.Equal(bodyOf(t, e), want) {
		t.Fatalf("second hit: ok %v, from file %v", ok, ok && e.file != nil)
	}

	corrupt(false)
	if _, ok := borrow(); ok {
		t.Error("a file rewritten in place with a new time was served")
	}
	if d.Stats().Corrupt != 1 {
		t.Errorf("corrupt: %d", d.Stats().Corrupt)
	}

	want = put(d, "a.jpg", 1, 40_000).Body
	borrow()
	raw, _ := os.ReadFile(name)
	raw[len(raw)-100] ^= 0xff
	tmp := name + ".new"
	os.WriteFile(tmp, raw, 0o644)
	fi, _ := os.Stat(name)
	os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	if err := os.Rename(tmp, name); err != nil { // replaced: a new inode, the same size and time
		t.Fatal(err)
	}
	if _, ok := borrow(); ok {
		t.Error("a replaced file was served")
	}

	put(d, "a.jpg", 1, 40_000)
	borrow()
	corrupt(true)
	if e, ok := borrow(); !ok || bytes.Equal(bodyOf(t, e), want) {
		t.Errorf("in place, size and time kept: ok %v (want the trade documented in diskverified.go: served as is)", ok)
	}
	if _, ok := d.Get("a.jpg", variant("a.jpg", 1)); ok {
		t.Error("a full read served a corrupt file")
	}
}

func TestBufClass(t *testing.T) {
	for _, c := range []struct{ n, class int }{
		{0, 0}, {1, 0}, {4096, 0}, {4097, 1}, {8192, 1}, {33263, 4}, {16 << 20, 12}, {16<<20 + 1, -1},
	} {
		if got := bufClass(c.n); got != c.class {
			t.Errorf("bufClass(%d) = %d, want %d", c.n, got, c.class)
		}
		if c.class >= 0 {
			b, p := getBuf(c.n)
			if len(b) != c.n || cap(*p) != 1<<(c.class+minBufShift) {
				t.Errorf("getBuf(%d): len %d cap %d", c.n, len(b), cap(*p))
			}
			putBuf(p)
		}
	}
}

// A flipped byte anywhere, a truncated file and an empty file are all
// detected, counted, removed, and are misses, whether read to keep or to
// borrow.
func TestDiskCorruption(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped body byte", func(b []byte) []byte { b[len(b)-10] ^= 1; return b }},
		{"flipped header byte", func(b []byte) []byte { b[12] ^= 0x40; return b }},
		{"flipped magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"truncated body", func(b []byte) []byte { return b[:len(b)-1] }},
		{"truncated header", func(b []byte) []byte { return b[:20] }},
		{"empty", func([]byte) []byte { return nil }},
		{"appended", func(b []byte) []byte { return append(b, 0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			d := openDisk(t, dir, 1<<20)
			put(d, "a.jpg", 1, 500)
			files := entryFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("%d entry files", len(files))
			}
			b, _ := os.ReadFile(files[0])
			for _, read := range []func(string, params.Key) (*Entry, bool){d.Get, d.Borrow} {
				// The first removal took the emptied directory with it.
				os.MkdirAll(filepath.Dir(files[0]), 0o755)
				if err := os.WriteFile(files[0], c.damage(bytes.Clone(b)), 0o644); err != nil {
					t.Fatal(err)
				}
				if _, ok := read("a.jpg", variant("a.jpg", 1)); ok {
					t.Fatal("damaged entry served")
				}
				if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
					t.Error("damaged entry not removed")
				}
			}
			if s := d.Stats(); s.Corrupt != 2 || s.Entries != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// Usage never exceeds the budget, while 8 goroutines write entries of
// random sizes: between writes the directory is within it, and during a
// write it is over by at most that entry's temp file.
func TestDiskBudgetUnderConcurrentWriters(t *testing.T) {
	const budget, maxEntry = 200_000, 20_000
	dir := t.TempDir()
	d := openDisk(t, dir, budget)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var worst int64
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		for {
			select {
			case <-stop:
				return
			default:
				// Between writes: a walk that raced the writers would count
				// a file about to be evicted and its replacement both.
				d.writeMu.Lock()
				worst = max(worst, dirBytes(dir))
				d.writeMu.Unlock()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := 0; i < 150; i++ {
				obj := fmt.Sprintf("o%d.jpg", r.IntN(20))
				put(d, obj, r.IntN(30), 100+r.IntN(maxEntry-200))
				if r.IntN(3) == 0 {
					d.Get(obj, variant(obj, r.IntN(30)))
				}
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	<-sampler
	final := dirBytes(dir)
	if worst > budget || final > budget {
		t.Errorf("directory peaked at %d bytes, ends at %d; budget %d", worst, final, budget)
	}
	// The index may count a file a reader re-indexed just as it was
	// evicted, never less than the directory holds.
	if s := d.Stats(); s.Used < final || s.Evictions == 0 {
		t.Errorf("index says %d bytes (%d evictions), directory holds %d", s.Used, s.Evictions, final)
	}
}

// A restarted tier finds yesterday's entries, indexes them, and keeps its
// budget; temp files a crash left are removed at start.
func TestDiskRestart(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	for i := 0; i < 20; i++ {
		put(d, "a.jpg", i, 1000)
	}
	leftover := filepath.Join(dir, "tmp", "123456")
	os.WriteFile(leftover, []byte("half an entry"), 0o644)
	d.Close()

	// Found by key before the rebuild is done, and after.
	d2, err := OpenDisk(DiskConfig{Dir: dir, Size: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d2.Get("a.jpg", variant("a.jpg", 7)); !ok {
		t.Error("entry not found during the rebuild")
	}
	d2.WaitScanned()
	if s := d2.Stats(); s.Entries != 20 || s.Used != dirBytes(filepath.Join(dir, "entries")) {
		t.Errorf("after restart: %+v", s)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Error("leftover temp file not removed")
	}
	// A smaller budget on restart evicts down to it, oldest first.
	d2.Close()
	d3 := openDisk(t, dir, 10_000)
	if s := d3.Stats(); s.Used > 10_000 || s.Entries == 0 {
		t.Errorf("smaller budget: %+v", s)
	}
	if _, ok := d3.Get("a.jpg", variant("a.jpg", 19)); !ok {
		t.Error("newest entry evicted")
	}
}

func TestDiskPurge(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	for i := 0; i < 5; i++ {
		put(d, "a/cat.jpg", i, 100)
		put(d, "a/dog.jpg", i, 100)
	}
	// Two more from a previous run, not indexed yet: removed and counted.
	d.Close()
	d = openDisk(t, dir, 1<<20)
	d.index = newDiskIndex(1 << 20) // nothing indexed
	put(d, "a/cat.jpg", 5, 100)
	if keys, err := d.Purge("a/cat.jpg"); err != nil || len(keys) != 6 {
		t.Errorf("purged %d variants (%v), want 6", len(keys), err)
	}
	for i := 0; i < 5; i++ {
		if _, ok := d.Get("a/cat.jpg", variant("a/cat.jpg", i)); ok {
			t.Error("purged variant served")
		}
		if _, ok := d.Get("a/dog.jpg", variant("a/dog.jpg", i)); !ok {
			t.Error("other original's variant purged")
		}
	}
	if len(entryFiles(t, dir)) != 5 {
		t.Errorf("%d files left", len(entryFiles(t, dir)))
	}
}

func TestDiskMaxAge(t *testing.T) {
	d, err := OpenDisk(DiskConfig{Dir: t.TempDir(), Size: 1 << 20, MaxAge: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &Entry{Body: []byte("x"), ObjectKey: "a.jpg", Created: time.Now().Add(-2 * time.Hour)}
	d.Put(variant("a.jpg", 1), e)
	if _, ok := d.Get("a.jpg", variant("a.jpg", 1)); ok {
		t.Error("entry older than max age served")
	}
}

// A cache directory that becomes unusable degrades the tier to a no-op
// that logs once and recovers by itself.
func TestDiskFault(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	d, err := OpenDisk(DiskConfig{Dir: dir, Size: 1 << 20, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d.WaitScanned()
	d.pause = 50 * time.Millisecond
	// Root ignores permissions, so break the directory instead: a file
	// where the entries directory was makes every write fail.
	entries := filepath.Join(dir, "entries")
	os.RemoveAll(entries)
	os.WriteFile(entries, []byte("not a directory"), 0o644)
	for i := 0; i < 10; i++ {
		put(d, "a.jpg", i, 100)
		if _, ok := d.Get("a.jpg", variant("a.jpg", i)); ok {
			t.Fatal("served from a broken tier")
		}
	}
	if s := d.Stats(); !s.Degraded || s.WriteErrors != 1 {
		t.Errorf("degraded tier: %+v", s)
	}
	if n := strings.Count(logs.String(), "write failed"); n != 1 {
		t.Errorf("logged %d times", n)
	}
	os.Remove(entries)
	time.Sleep(60 * time.Millisecond)
	put(d, "a.jpg", 1, 100)
	if _, ok := d.Get("a.jpg", variant("a.jpg", 1)); !ok {
		t.Error("did not recover")
	}
	if s := d.Stats(); s.Degraded || !strings.Contains(logs.String(), "writing again") {
		t.Errorf("recovery: %+v", s)
	}
	// The whole cache directory removed: recreated on the next write.
	os.RemoveAll(dir)
	time.Sleep(60 * time.Millisecond)
	put(d, "a.jpg", 2, 100)
	put(d, "a.jpg", 3, 100)
	if _, ok := d.Get("a.jpg", variant("a.jpg", 3)); !ok {
		t.Error("did not recover from a removed directory")
	}
}

// A cache directory that cannot be written at start opens the tier
// degraded rather than failing: reads of what is there go on, writes are
// skipped, Writable says why (without the path), and the tier writes again
// once the directory can be written, with no restart. Root ignores
// permissions: the directory is made unwritable by a file standing where it
// should be, or by the immutable attribute where chattr is allowed.
func TestOpenDiskUnwritable(t *testing.T) {
	for _, c := range []struct {
		name          string
		breakDir, fix func(t *testing.T, dir string)
	}{
		{"a file where the directory should be",
			func(t *testing.T, dir string) { os.WriteFile(dir, []byte("not a directory"), 0o644) },
			func(t *testing.T, dir string) { os.Remove(dir) }},
		{"immutable directory",
			func(t *testing.T, dir string) {
				os.Mkdir(dir, 0o755)
				if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
					t.Skipf("chattr +i: %v %s", err, out)
				}
				t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
			},
			func(t *testing.T, dir string) { exec.Command("chattr", "-i", dir).Run() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			c.breakDir(t, dir)
			var logs SyncBuffer
			d, err := OpenDisk(DiskConfig{Dir: dir, Size: 1 << 20, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("an unwritable directory failed the start: %v", err)
			}
			defer d.Close()
			d.WaitScanned()
			err = d.Writable()
			if err == nil || !strings.HasPrefix(err.Error(), "disk cache degraded: cache directory not writable") ||
				strings.Contains(err.Error(), dir) {
				t.Errorf("Writable: %v", err)
			}
			if s := d.Stats(); !s.Degraded {
				t.Errorf("not degraded: %+v", s)
			}
			for i := 0; i < 3; i++ {
				put(d, "a.jpg", i, 100)
			}
			if _, ok := d.Get("a.jpg", variant("a.jpg", 0)); ok {
				t.Error("served an entry an unwritable directory cannot hold")
			}
			if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "not usable at start") {
				t.Errorf("logged %d errors:\n%s", n, logs.String())
			}

			c.fix(t, dir)
			// A readiness probe finds it usable: the next write goes ahead
			// without waiting out the pause.
			if err := d.Writable(); err != nil {
				t.Fatalf("Writable after the fix: %v", err)
			}
			put(d, "a.jpg", 1, 100)
			if _, ok := d.Get("a.jpg", variant("a.jpg", 1)); !ok {
				t.Error("did not write once the directory was usable")
			}
			if s := d.Stats(); s.Degraded || s.Entries != 1 {
				t.Errorf("after recovery: %+v", s)
			}
			// And it holds the directory now.
			if _, err := OpenDisk(DiskConfig{Dir: dir, Size: 1, Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, ErrLocked) {
				t.Errorf("a second tier on the recovered directory: %v", err)
			}
		})
	}
}

// A read-only directory that already holds a cache serves its entries, and
// still keeps a second server out: the lock needs no write access.
func TestOpenDiskReadOnlyServes(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	put(d, "a.jpg", 1, 100)
	d.Close()
	// Immutable: nothing can be created or removed in it, its tmp or
	// entries, as on a read-only mount.
	var args []string
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			args = append(args, p)
		}
		return nil
	})
	if out, err := exec.Command("chattr", append([]string{"+i"}, args...)...).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", append([]string{"-i"}, args...)...).Run() })

	d = openDisk(t, dir, 1<<20)
	if err := d.Writable(); err == nil {
		t.Error("an immutable directory reported writable")
	}
	if s := d.Stats(); !s.Degraded || s.Entries != 1 {
		t.Errorf("read-only tier: %+v", s)
	}
	if _, ok := d.Get("a.jpg", variant("a.jpg", 1)); !ok {
		t.Error("entry in a read-only directory not served")
	}
	// A purge that cannot remove the files says so: they would be served.
	if keys, err := d.Purge("a.jpg"); err == nil {
		t.Errorf("purge in a read-only directory: %d variants, no error", len(keys))
	}
	if _, err := OpenDisk(DiskConfig{Dir: dir, Size: 1, Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, ErrLocked) {
		t.Errorf("a second tier on a read-only directory: %v", err)
	}
}

// One tier per directory: the second is refused with the holder's pid, and
// can open it once the first is closed. A directory replaced under a
// running tier is locked again before it is written.
func TestDiskLock(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	_, err := OpenDisk(DiskConfig{Dir: dir, Size: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) ||
		!strings.Contains(err.Error(), dir) {
		t.Fatalf("second tier on one directory: %v", err)
	}
	d.Close()
	put(d, "a.jpg", 1, 100)
	if len(entryFiles(t, dir)) != 0 {
		t.Error("a closed tier wrote")
	}
	d = openDisk(t, dir, 1<<20)

	os.RemoveAll(dir)
	put(d, "a.jpg", 2, 100)
	if len(entryFiles(t, dir)) != 1 {
		t.Fatal("not written to the new directory")
	}
	if _, err := OpenDisk(DiskConfig{Dir: dir, Size: 1, Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, ErrLocked) {
		t.Errorf("a second tier on the replaced directory: %v", err)
	}
}

// SyncBuffer is a log destination written from the tiers' goroutines (the
// disk rebuild, the shared tier's writers and purge follower); exported for
// the cache_test package's tests too.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
