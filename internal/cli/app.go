package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/admin"
	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/metrics"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/ratelimit"
	"github.com/imgproxy-team/imgproxy/internal/server"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// app is the server wired together: the composition root of serve.
type app struct {
	public http.Handler
	admin  http.Handler
	conns  *server.ConnLimiter // bounds the public listener's connections
	disk   *cache.Disk         // nil without a disk tier
	shared *cache.Shared       // nil without a shared tier
	// stopFollowing ends the reading of other instances' purge notices.
	stopFollowing context.CancelFunc
}

// closeTimeout bounds the wait for the shared tier's queued writes at exit.
const closeTimeout = 5 * time.Second

// close lets the shared tier's queued writes finish, for a while, and
// releases the cache directory's lock, for the next server.
func (a *app) close() {
	if a.stopFollowing != nil {
		a.stopFollowing()
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	a.shared.Close(ctx)
	a.disk.Close()
}

// transformLimits are the configured limits of a transform, the same for
// serve and for sign's placeholders.
func transformLimits(cfg *config.Config) transform.Limits {
	return transform.Limits{
		MaxSourcePixels:    cfg.Transform.MaxSourcePixels,
		MaxOutputDim:       cfg.Transform.MaxOutputDim,
		MaxSourceFrames:    cfg.Transform.MaxSourceFrames,
		MaxAnimationPixels: cfg.Transform.MaxAnimationPixels,
		AllowSVG:           cfg.Transform.AllowSVG,
		AllowJXL:           cfg.Transform.AllowJXL,
	}
}

// src is the origin wrapped in the health tracking behind /readyz
// (checkOrigin).
func newApp(cfg *config.Config, ring *urlsig.KeyRing, src *origin.Health, log, accessLog *slog.Logger) (*app, error) {
	var m *metrics.Metrics // set below; the transformer reports into it
	tr, err := transform.New(transform.Config{
		Workers:      cfg.Transform.Workers,
		Queue:        cfg.Transform.Queue,
		QueueTimeout: cfg.Transform.QueueTimeout,
		QueueBytes:   cfg.Transform.QueueBytes,
		Limits:       transformLimits(cfg),
		Encoding: transform.Encoding{
			QualityJPEG: cfg.Transform.QualityJPEG,
			QualityWebP: cfg.Transform.QualityWebP,
			QualityAVIF: cfg.Transform.QualityAVIF,
			EffortWebP:  cfg.Transform.EffortWebP,
			EffortAVIF:  cfg.Transform.EffortAVIF,
		},
		Observe: func(f params.Format, d time.Duration) { m.ObserveTransform(f, d) },
	})
	if err != nil {
		return nil, err
	}
	var disk *cache.Disk
	if cfg.Cache.DiskDir != "" {
		if disk, err = openDisk(cfg, log); err != nil {
			return nil, err
		}
	}
	results, err := openShared(cfg, log)
	if err != nil {
		disk.Close()
		return nil, err
	}
	// Before serving, the purges other instances made while this one was
	// stopped: only the disk tier can hold what they removed.
	var applyPurge func(objectKey string)
	var follower *cache.PurgeFollower
	if results != nil {
		record := ""
		if disk != nil {
			record = filepath.Join(cfg.Cache.DiskDir, cache.PurgeRecordFile)
		}
		if follower, err = results.NewPurgeFollower(record, func(key string) { applyPurge(key) }); err != nil {
			disk.Close()
			results.Close(context.Background())
			return nil, err
		}
		if disk != nil {
			applyPurge = func(key string) {
				if _, err := disk.Purge(key); err != nil {
					log.Error("purge notice from another instance not applied", "key", key, "err", err)
				}
			}
			if disk, err = catchUpPurges(cfg, follower, disk, log); err != nil {
				results.Close(context.Background())
				return nil, err
			}
		}
	}
	c := cache.New(cache.Config{
		MemorySize:       cfg.Cache.MemorySize,
		MaxEntryFraction: cfg.Cache.MaxEntryFraction,
		MaxAge:           cfg.Cache.MaxAge,
		Disk:             disk,
		Shared:           results,
		FillTimeout:      cfg.Server.RequestTimeout,
	})
	if !transform.HEICDecoder() {
		log.Warn("HEIC originals will be refused (415): this libheif has no HEVC decoder; install libde265")
	}
	if cfg.Transform.AllowJXL && !transform.JXLLoader() {
		log.Warn("JPEG XL originals will be refused (415): this libvips was built without libjxl")
	}
	conns := server.NewConnLimiter(cfg.Server.MaxConnections)
	var shared *origin.Shared       // counts fetches into m, which reads its stats
	var secret *server.OriginSecret // set below when server.origin_secret is
	m = metrics.New(metrics.Sources{
		Cache:        c.Stats,
		Transform:    tr.Stats,
		Originals:    func() origin.SharedStats { return shared.Stats() },
		Libvips:      transform.LibvipsMemory,
		Connections:  conns.Stats,
		OriginHealth: src.Stats,
		OriginSecretRefused: func() int64 {
			if secret == nil {
				return 0
			}
			return secret.Refused()
		},
	})
	shared = origin.NewShared(m.Origin(src), cfg.Cache.OriginalsSize, cfg.Cache.OriginalsTTL)
	var limiter server.MissLimiter
	if cfg.RateLimit.MissesPerSecond > 0 {
		trusted, err := ratelimit.ParsePrefixes(cfg.RateLimit.TrustedProxies)
		if err != nil {
			return nil, err
		}
		limiter = ratelimit.Misses{
			Limiter: ratelimit.New(cfg.RateLimit.MissesPerSecond, cfg.RateLimit.Burst, cfg.RateLimit.MaxClients),
			Addr:    ratelimit.ClientAddr{Trusted: trusted},
		}
	}
	readyChecks := []server.ReadyCheck{{Name: "origin failing", Err: src.Err},
		// Detail only: without the shared tier the server still serves.
		{Name: "shared cache tier failing", Err: results.Err, Degraded: true}}
	public := server.New(server.Config{
		Ring:                    ring,
		Limits:                  params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim},
		CacheControl:            cfg.HTTP.CacheControl,
		CacheControlUnversioned: cfg.HTTP.CacheControlUnversioned,
		Timeout:                 cfg.Server.RequestTimeout,
		Logger:                  log,
		AccessLog:               accessLog,
		Ready:                   disk.Writable,
		ReadyChecks:             readyChecks,
		MaxAge:                  cfg.Cache.MaxAge,
		Observe:                 m.ObserveRequest,
		Limiter:                 limiter,
		// A refused original is remembered as long as a fetched one is
		// kept: both save fetches of one original for its other variants.
		BadOriginalTTL: cfg.Cache.OriginalsTTL,
		PathPrefix:     cfg.Server.PathPrefix,
	}, shared, tr, c)
	purge := func(key string) (int, error) {
		shared.Forget(key)
		public.Forget(key)
		return c.Purge(key)
	}
	var handler http.Handler = public
	if cfg.Server.OriginSecret != "" {
		secret = server.NewOriginSecret(cfg.Server.OriginSecret, public, log)
		handler = secret
	}
	a := &app{public: handler, admin: admin.Handler(cfg.Server.AdminAddr, m.Handler(), purge, ring, log), conns: conns,
		disk: disk, shared: results}
	if results != nil {
		// Another instance's purge reaches this one's memory and disk.
		applyPurge = func(key string) {
			shared.Forget(key)
			public.Forget(key)
			if err := c.PurgeLocal(key); err != nil {
				log.Error("purge notice from another instance not applied", "key", key, "err", err)
			}
		}
		var ctx context.Context
		ctx, a.stopFollowing = context.WithCancel(context.Background())
		go follower.Follow(ctx, cfg.Cache.Shared.PurgeInterval)
	}
	return a, nil
}

// catchUpPurges applies the purge notices written while this instance was
// stopped to its disk tier, and empties the tier when it was stopped for
// longer than notices are kept. It returns the disk tier to use. A shared
// bucket that does not answer is logged: the follower applies them when
// it does.
func catchUpPurges(cfg *config.Config, f *cache.PurgeFollower, disk *cache.Disk, log *slog.Logger) (*cache.Disk, error) {
	ctx, cancel := context.WithTimeout(context.Background(), catchUpTimeout)
	defer cancel()
	stale, err := f.CatchUp(ctx)
	if err != nil {
		log.Error("shared cache: could not read the purge notices written while this instance was stopped; applying them once the bucket answers",
			"err", err)
	}
	if !stale {
		return disk, nil
	}
	log.Warn("shared cache: this instance was stopped for longer than purge notices are kept; emptying the disk tier, which may hold purged variants",
		"dir", cfg.Cache.DiskDir, "kept", cache.PurgeNoticeAge.String())
	disk.Close()
	if err := os.RemoveAll(filepath.Join(cfg.Cache.DiskDir, "entries")); err != nil {
		return nil, fmt.Errorf("emptying the disk tier: %w", err)
	}
	return openDisk(cfg, log)
}

// sharedStore is the shared tier's bucket, from cache.shared.*.
func sharedStore(cfg *config.Config) (*cache.S3Store, error) {
	sc := cfg.Cache.Shared
	return cache.NewS3Store(context.Background(), origin.S3Config{
		Bucket: sc.S3.Bucket, Prefix: sc.S3.Prefix, Region: sc.S3.Region, Endpoint: sc.S3.Endpoint,
		PathStyle: sc.S3.PathStyle, AccessKeyID: sc.S3.AccessKeyID, SecretAccessKey: sc.S3.SecretAccessKey,
		MaxAttempts: 2,
	})
}

func openDisk(cfg *config.Config, log *slog.Logger) (*cache.Disk, error) {
	return cache.OpenDisk(cache.DiskConfig{Dir: cfg.Cache.DiskDir, Size: cfg.Cache.DiskSize, MaxAge: cfg.Cache.MaxAge, Logger: log})
}

// catchUpTimeout bounds the reading of missed purge notices at start.
const catchUpTimeout = 30 * time.Second

// openShared opens the shared tier (nil when cache.shared.bucket is
// empty) and lists its bucket once: a missing bucket or refused
// credentials stop the start, naming the bucket; a bucket that does not
// answer only starts the tier paused (it is an optimisation).
func openShared(cfg *config.Config, log *slog.Logger) (*cache.Shared, error) {
	sc := cfg.Cache.Shared
	if sc.S3.Bucket == "" {
		return nil, nil
	}
	store, err := sharedStore(cfg)
	if err != nil {
		return nil, err
	}
	s := cache.NewShared(cache.SharedConfig{Store: store, Timeout: sc.Timeout, Queue: sc.Queue, QueueBytes: sc.QueueBytes,
		MaxAge: cfg.Cache.MaxAge, TouchAfter: sc.TouchAfter, ReadOnly: sc.ReadOnly, Logger: log})
	err = s.Check(context.Background())
	switch {
	case errors.Is(err, cache.ErrStoreRefused):
		s.Close(context.Background())
		return nil, fmt.Errorf("cache.shared.bucket %q: %w (check the bucket, cache.shared.prefix and the credentials)", sc.S3.Bucket, err)
	case err != nil:
		log.Warn("shared cache tier: the bucket did not answer at start; serving without it until it does",
			"bucket", sc.S3.Bucket, "err", err)
	}
	return s, nil
}
