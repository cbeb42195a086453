// Package config owns the configuration: every key with its default, loading
// from a YAML file, IMGPROXY_* environment variables and flags (each
// overriding the one before), and validation into a plain Config struct.
package config

import (
	"log/slog"
	"time"
)

// Config is the whole configuration, validated, with defaults applied.
type Config struct {
	Server    Server
	Signing   Signing
	Origin    Origin
	Cache     Cache
	Transform Transform
	HTTP      HTTP
	RateLimit RateLimit
	Log       Log
}

// RateLimit limits cache misses per client.
type RateLimit struct {
	MissesPerSecond float64 // 0: off
	Burst           int
	TrustedProxies  []string // CIDR ranges whose client headers are believed
	MaxClients      int
}

// Server is the HTTP listeners.
type Server struct {
	Addr string
	// PathPrefix is stripped from every request path before the URL is
	// verified ("/img" when https://example.com/img/... reaches this
	// server); empty for none.
	PathPrefix string
	// AdminAddr is the admin listener's address; empty turns it off.
	AdminAddr      string
	MaxConnections int // open connections on the public listener
	// TLSCert and TLSKey are PEM files; both set: the public listener
	// speaks TLS (HTTP/2 and HTTP/1.1). TLSClientCA (PEM), when set, makes
	// the handshake refuse clients without a certificate it signed.
	TLSCert, TLSKey, TLSClientCA string
	// OriginSecret, when set, is the value every request must carry in
	// X-Origin-Secret (a CDN or Worker adds it), or get 403.
	OriginSecret      string
	ReadHeaderTimeout time.Duration
	RequestTimeout    time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// HeapFloor is memory the Go heap may fill with garbage before a
	// collection while what it keeps is smaller (0: off).
	HeapFloor int64
}

// Signing is the signing key ring and the base URL `sign` prefixes.
type Signing struct {
	// Keys are the raw keys; the first signs, all verify. Empty when none
	// is configured (serve and sign refuse to run; verify explains).
	Keys    [][]byte
	KeyFile string
	BaseURL string
}

// Origin is where originals come from: a local directory or an S3 bucket.
type Origin struct {
	Dir      string
	S3       S3
	MaxBytes int64
	Timeout  time.Duration
	// Check is what serve does when the origin fails its startup check:
	// "fail" (exit), "warn" (start, not ready until it answers) or "off".
	Check string
	// UnreadyFailures fetches in a row that fail or time out within
	// UnreadyWindow make /readyz answer 503; 0 never.
	UnreadyFailures int
	UnreadyWindow   time.Duration
}

// S3 is an S3-compatible bucket.
type S3 struct {
	Bucket          string
	Prefix          string
	Region          string
	Endpoint        string
	PathStyle       bool
	AccessKeyID     string
	SecretAccessKey string
}

// Cache is the cache tiers.
type Cache struct {
	MemorySize       int64
	MaxEntryFraction float64
	OriginalsSize    int64
	OriginalsTTL     time.Duration
	DiskDir          string
	DiskSize         int64
	MaxAge           time.Duration // 0: no limit
	Shared           SharedCache
}

// SharedCache is the tier every instance shares, in an S3 bucket; off
// when S3.Bucket is empty. The connection fields left unset take the
// origin's (origin.s3.*) when the configuration is loaded.
type SharedCache struct {
	S3         S3
	Timeout    time.Duration // bounds one read
	Queue      int           // writes waiting
	QueueBytes int64         // bytes of writes waiting
	// PurgeInterval is how often the purge notices of the other
	// instances are read.
	PurgeInterval time.Duration
	// TouchAfter: a hit on an object older than this renews its
	// modification time, for age-based cleanups.
	TouchAfter time.Duration
	// ReadOnly reads the bucket and never writes it.
	ReadOnly bool
	// pathStyleSet says whether path_style was given, or is the origin's.
	pathStyleSet bool
}

// Transform is the image processing limits and pool.
type Transform struct {
	Workers         int
	Queue           int
	QueueTimeout    time.Duration
	QueueBytes      int64
	MaxSourcePixels int64
	MaxOutputDim    int
	MaxSourceFrames int
	// MaxAnimationPixels bounds all frames of an animation kept animated.
	MaxAnimationPixels int64
	AllowSVG           bool
	AllowJXL           bool
	QualityJPEG        int
	QualityWebP        int
	QualityAVIF        int
	EffortWebP         int
	EffortAVIF         int
}

// HTTP is response header policy.
type HTTP struct {
	CacheControl string
	// CacheControlUnversioned is for URLs without v, whose original may
	// change under them.
	CacheControlUnversioned string
}

// Log is the logger's level and format.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}
