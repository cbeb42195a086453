package cli

import (
	"log/slog"
	"net/http"
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
}

// close releases the cache directory's lock, for the next server.
func (a *app) close() { a.disk.Close() }

// src is the origin wrapped in the health tracking behind /readyz
// (checkOrigin).
func newApp(cfg *config.Config, ring *urlsig.KeyRing, src *origin.Health, log *slog.Logger) (*app, error) {
	var m *metrics.Metrics // set below; the transformer reports into it
	tr, err := transform.New(transform.Config{
		Workers:      cfg.Transform.Workers,
		Queue:        cfg.Transform.Queue,
		QueueTimeout: cfg.Transform.QueueTimeout,
		QueueBytes:   cfg.Transform.QueueBytes,
		Limits: transform.Limits{
			MaxSourcePixels:    cfg.Transform.MaxSourcePixels,
			MaxOutputDim:       cfg.Transform.MaxOutputDim,
			MaxSourceFrames:    cfg.Transform.MaxSourceFrames,
			MaxAnimationPixels: cfg.Transform.MaxAnimationPixels,
			AllowSVG:           cfg.Transform.AllowSVG,
		},
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
		if disk, err = cache.OpenDisk(cache.DiskConfig{
			Dir: cfg.Cache.DiskDir, Size: cfg.Cache.DiskSize, MaxAge: cfg.Cache.MaxAge, Logger: log,
		}); err != nil {
			return nil, err
		}
	}
	c := cache.New(cache.Config{
		MemorySize:       cfg.Cache.MemorySize,
		MaxEntryFraction: cfg.Cache.MaxEntryFraction,
		MaxAge:           cfg.Cache.MaxAge,
		Disk:             disk,
		FillTimeout:      cfg.Server.RequestTimeout,
	})
	if !transform.HEICDecoder() {
		log.Warn("HEIC originals will be refused (415): this libheif has no HEVC decoder; install libde265")
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
	public := server.New(server.Config{
		Ring:                    ring,
		Limits:                  params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim},
		CacheControl:            cfg.HTTP.CacheControl,
		CacheControlUnversioned: cfg.HTTP.CacheControlUnversioned,
		Timeout:                 cfg.Server.RequestTimeout,
		Logger:                  log,
		Ready:                   disk.Writable,
		ReadyChecks:             []server.ReadyCheck{{Name: "origin failing", Err: src.Err}},
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
	return &app{public: handler, admin: admin.Handler(cfg.Server.AdminAddr, m.Handler(), purge, ring, log), conns: conns,
		disk: disk}, nil
}
