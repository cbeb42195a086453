package cache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/lru"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

// SharedConfig configures the shared tier. Zero values take defaults.
type SharedConfig struct {
	Store Store
	// Timeout bounds one read: a slow store costs a miss at most this
	// much (default 1s).
	Timeout time.Duration
	// WriteTimeout bounds one background write (default 10s).
	WriteTimeout time.Duration
	// Queue and QueueBytes bound the writes waiting; a write past either
	// is dropped and counted (defaults 256 and 64 MiB). QueueBytes also
	// bounds the largest object read: nothing larger is ever written.
	Queue      int
	QueueBytes int64
	Writers    int           // concurrent writes (default 2)
	MaxAge     time.Duration // objects older than this are misses; 0: no limit
	// Pause is how long reads and writes are skipped after the store
	// failed (default 5s): a store that is down costs one Timeout per
	// pause, not one per request.
	Pause time.Duration
	// TouchAfter: a hit on an object last written or touched longer ago
	// than this refreshes its modification time in the background, so that
	// an age-based cleanup (imgproxy cache shared --older-than, or a
	// lifecycle rule) removes only what was not read (default 24h).
	TouchAfter time.Duration
	// ReadOnly reads the store and never writes it: no results, touches,
	// purges or purge notices (an instance that may read another fleet's
	// results, or a bucket whose policy denies writes).
	ReadOnly bool
	Logger   *slog.Logger
}

// Shared is the shared tier: finished responses in a store that every
// instance reads and writes (an S3 bucket), below memory and disk and above
// the origin. It is an optimisation and never a dependency: every failure
// is a miss or a dropped write, bounded in time, counted and logged once
// per episode, never an error to a request.
//
// Objects are entries in the disk tier's format (diskformat.go), so that a
// corrupt, truncated or foreign object fails the same checksum and is a
// miss, then replaced. Keys are laid out per original, as on disk:
// entries/<ab>/<original's hash>/<variant's key>, so that a purge lists one
// prefix.
type Shared struct {
	store        Store
	timeout      time.Duration
	writeTimeout time.Duration
	maxAge       time.Duration
	maxObject    int64
	pause        time.Duration
	touchAfter   time.Duration
	readOnly     bool
	log          *slog.Logger
	instance     string // names this process in purge notices

	// bad holds the keys whose object was found corrupt, foreign or
	// stale: the next write of one overwrites rather than asks for "only
	// if absent".
	bad *lru.Cache[string, struct{}]
	// purged remembers recent purges, so that a write queued before one
	// does not put back what it removed.
	purged *lru.Cache[string, time.Time]

	queue      chan sharedWrite
	queueBytes int64
	mu         sync.RWMutex // guards closed against sends on the queue
	closed     bool
	writers    sync.WaitGroup

	pausedUntil atomic.Int64 // unix ns; the store is left alone until then
	failing     atomic.Bool  // in a failure episode (logged once)
	lastErr     atomic.Pointer[error]
	queued      atomic.Int64 // writes waiting or running
	queuedBytes atomic.Int64

	hits, misses, skipped, corrupt           atomic.Int64
	writes, exists, droppedFull, droppedDown atomic.Int64
	touches                                  atomic.Int64
	getErrs, putErrs, purgeErrs              atomic.Int64
}

// Defaults of SharedConfig.
const (
	DefaultSharedTimeout    = time.Second
	defaultSharedWriteTO    = 10 * time.Second
	DefaultSharedQueue      = 256
	DefaultSharedQueueBytes = 64 << 20
	defaultSharedWriters    = 2
	defaultSharedPause      = 5 * time.Second
	defaultSharedTouchAfter = 24 * time.Hour
	// sharedBadKeys and sharedPurges bound what the tier remembers.
	sharedBadKeys = 10_000
	sharedPurges  = 10_000
)

// NewShared returns the tier and starts its writers; Close stops them.
func NewShared(cfg SharedConfig) *Shared {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Timeout, DefaultSharedTimeout)
	def(&cfg.WriteTimeout, defaultSharedWriteTO)
	def(&cfg.Pause, defaultSharedPause)
	def(&cfg.TouchAfter, defaultSharedTouchAfter)
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultSharedQueue
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultSharedQueueBytes
	}
	if cfg.Writers <= 0 {
		cfg.Writers = defaultSharedWriters
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Shared{
		store: cfg.Store, timeout: cfg.Timeout, writeTimeout: cfg.WriteTimeout, maxAge: cfg.MaxAge,
		maxObject: cfg.QueueBytes + 1<<16, pause: cfg.Pause, touchAfter: cfg.TouchAfter, readOnly: cfg.ReadOnly,
		log: cfg.Logger, instance: instanceID(),
		bad:        lru.New[string, struct{}](sharedBadKeys, 1, 0),
		purged:     lru.New[string, time.Time](sharedPurges, 1, cfg.WriteTimeout+time.Minute),
		queue:      make(chan sharedWrite, cfg.Queue),
		queueBytes: cfg.QueueBytes,
	}
	for range cfg.Writers {
		s.writers.Add(1)
		go s.writer()
	}
	return s
}

// sharedKey names a variant in the store, as diskKey and toPath do on disk.
func sharedKey(objectKey string, key params.Key) string {
	return sharedDir(objectKey) + hex.EncodeToString(key[:])
}

// sharedDir is the prefix of every variant of an original.
func sharedDir(objectKey string) string {
	dir := objectDir(objectKey)
	return "entries/" + dir[:2] + "/" + dir + "/"
}

// Get returns the variant from the store, verified, or false: when it is
// not there, when the store fails or does not answer within the tier's
// timeout (ctx may only shorten that), and while the tier is paused after
// a failure. A corrupt, foreign or stale object is a miss, replaced by the
// next write.
func (s *Shared) Get(ctx context.Context, objectKey string, key params.Key) (*Entry, bool) {
	if s.paused() {
		s.skipped.Add(1)
		return nil, false
	}
	k := sharedKey(objectKey, key)
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	b, info, err := s.store.Get(tctx, k, s.maxObject)
	switch {
	case errors.Is(err, ErrNoObject):
		s.recovered()
		s.misses.Add(1)
		return nil, false
	case errors.Is(err, ErrObjectTooLarge):
		s.recovered()
		s.reject(objectKey, k, err)
		return nil, false
	case err != nil:
		s.getErrs.Add(1)
		if ctx.Err() == nil { // not the caller giving up: the store
			s.fail("read", err)
		}
		return nil, false
	}
	s.recovered()
	e, err := decodeEntry(b)
	if err == nil && e.ObjectKey != objectKey {
		err = fmt.Errorf("%w: written for %q", errCorruptEntry, e.ObjectKey)
	}
	if err != nil {
		s.reject(objectKey, k, err)
		return nil, false
	}
	if s.maxAge > 0 && time.Since(e.Created) > s.maxAge {
		s.bad.Add(k, struct{}{}, 1)
		s.misses.Add(1)
		return nil, false
	}
	s.hits.Add(1)
	if time.Since(info.Modified) > s.touchAfter {
		s.enqueue(sharedWrite{touch: k, body: b, etag: info.ETag, size: int64(len(b)), queued: time.Now()})
	}
	return e, true
}

// reject counts and logs an object that is not a valid entry of this
// variant, and marks it to be overwritten.
func (s *Shared) reject(objectKey, k string, err error) {
	s.corrupt.Add(1)
	s.misses.Add(1)
	s.bad.Add(k, struct{}{}, 1)
	s.log.Warn("shared cache: corrupt or foreign object, treated as a miss and replaced", "key", objectKey, "object", k, "err", err)
}

// Purge removes every variant of the original objectKey from the store and
// returns their keys. Writes of it still queued are dropped. An error means
// some may still be there.
func (s *Shared) Purge(ctx context.Context, objectKey string) ([]params.Key, error) {
	s.purged.Add(objectKey, time.Now(), 1)
	if s.readOnly {
		return nil, fmt.Errorf("shared cache: read-only here (cache.shared.read_only), so the variants of %q stay in it: purge through an instance that writes it", objectKey)
	}
	dir := sharedDir(objectKey)
	var names []string
	err := s.store.List(ctx, dir, func(o ObjectInfo) error {
		names = append(names, o.Key)
		return nil
	})
	if err == nil && len(names) > 0 {
		err = s.store.Delete(ctx, names...)
	}
	var keys []params.Key
	for _, name := range names {
		var k params.Key
		if n, herr := hex.Decode(k[:], []byte(name[len(dir):])); herr == nil && n == len(k) {
			keys = append(keys, k)
		}
	}
	if err != nil {
		s.purgeErrs.Add(1)
		return nil, fmt.Errorf("shared cache: removing the variants of %q: %w", objectKey, err)
	}
	return keys, nil
}

// Check lists the store once, at start, and unless the tier is read-only
// writes a small object named probe: ErrStoreRefused means a missing
// bucket or refused credentials (for reading, or for writing); any other
// error a store that is down (the tier starts paused, and tries again by
// itself).
func (s *Shared) Check(ctx context.Context) error {
	errStop := errors.New("stop")
	tctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	err := s.store.List(tctx, "entries/", func(ObjectInfo) error { return errStop })
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil && !s.readOnly {
		if err = s.store.Put(tctx, probeKey, []byte("imgproxy checks that it may write here\n"), false); errors.Is(err, ErrStoreRefused) {
			err = fmt.Errorf("%w (writes; set cache.shared.read_only to only read this bucket)", err)
		}
	}
	if err == nil {
		return nil
	}
	s.fail("check", err)
	return err
}

// probeKey is the object Check writes: one per prefix, overwritten by
// every start.
const probeKey = "probe"

// paused reports whether the store is being left alone after a failure.
func (s *Shared) paused() bool { return time.Now().UnixNano() < s.pausedUntil.Load() }

// fail starts or continues a failure episode: the store is left alone for
// the pause, and only the first failure of an episode is logged.
func (s *Shared) fail(op string, err error) {
	s.lastErr.Store(&err)
	s.pausedUntil.Store(time.Now().Add(s.pause).UnixNano())
	if !s.failing.Swap(true) {
		s.log.Error("shared cache: store failing; serving from the local tiers and the origin, retrying every "+s.pause.String(),
			"op", op, "err", err)
	}
}

// recovered ends a failure episode when the store answers again.
func (s *Shared) recovered() {
	if s.failing.Swap(false) {
		s.log.Info("shared cache: store answering again")
	}
}

// Err is nil unless the store is failing, then the last failure. It is
// /readyz detail: a failing shared tier never makes a server unready.
func (s *Shared) Err() error {
	if s == nil || !s.failing.Load() {
		return nil
	}
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return errors.New("shared cache: store failing")
}

// SharedStats is a snapshot of the shared tier.
type SharedStats struct {
	Hits, Misses, Skipped, Corrupt    int64 // reads
	Writes, Exists                    int64 // writes done; writes found already there
	Touches                           int64 // hits on old objects refreshed
	DroppedFull, DroppedUnavailable   int64 // writes dropped: queue full; store failing
	GetErrors, PutErrors, PurgeErrors int64
	QueuedWrites, QueuedBytes         int64
	Failing                           bool
}

// Stats returns the tier's counters.
func (s *Shared) Stats() SharedStats {
	return SharedStats{
		Hits: s.hits.Load(), Misses: s.misses.Load(), Skipped: s.skipped.Load(), Corrupt: s.corrupt.Load(),
		Writes: s.writes.Load(), Exists: s.exists.Load(), Touches: s.touches.Load(),
		DroppedFull: s.droppedFull.Load(), DroppedUnavailable: s.droppedDown.Load(),
		GetErrors: s.getErrs.Load(), PutErrors: s.putErrs.Load(), PurgeErrors: s.purgeErrs.Load(),
		QueuedWrites: s.queued.Load(), QueuedBytes: s.queuedBytes.Load(),
		Failing: s.failing.Load(),
	}
}
