package config

import (
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// field is one configuration key: its default (in the same spelling a user
// would write) and how to store a value into the Config.
type field struct {
	key string
	def string
	set func(string) error
}

// fields lists every key. It is the one place a key is declared; the
// environment variable is IMGPROXY_ plus the key in upper case with dots as
// underscores.
func (c *Config) fields() []field {
	return []field{
		{"server.addr", ":8080", str(&c.Server.Addr)},
		{"server.admin_addr", "127.0.0.1:9090", str(&c.Server.AdminAddr)},
		{"server.read_header_timeout", "5s", duration(&c.Server.ReadHeaderTimeout)},
		{"server.request_timeout", "30s", duration(&c.Server.RequestTimeout)},
		{"server.idle_timeout", "120s", duration(&c.Server.IdleTimeout)},
		{"server.shutdown_timeout", "25s", duration(&c.Server.ShutdownTimeout)},
		{"server.max_connections", "4096", integer(&c.Server.MaxConnections, 1, 1<<20)},
		{"server.heap_floor", "32MiB", size(&c.Server.HeapFloor, 0)},
		{"server.path_prefix", "", pathPrefix(&c.Server.PathPrefix)},
		{"server.tls_cert", "", str(&c.Server.TLSCert)},
		{"server.tls_key", "", str(&c.Server.TLSKey)},
		{"server.tls_client_ca", "", str(&c.Server.TLSClientCA)},
		{"server.origin_secret", "", str(&c.Server.OriginSecret)},

		{"signing.keys", "", hexKeys(&c.Signing.Keys)},
		{"signing.key_file", "", str(&c.Signing.KeyFile)},
		{"signing.base_url", "", baseURL(&c.Signing.BaseURL)},

		{"origin.dir", "", str(&c.Origin.Dir)},
		{"origin.s3.bucket", "", str(&c.Origin.S3.Bucket)},
		{"origin.s3.prefix", "", str(&c.Origin.S3.Prefix)},
		{"origin.s3.region", "us-east-1", str(&c.Origin.S3.Region)},
		{"origin.s3.endpoint", "", str(&c.Origin.S3.Endpoint)},
		{"origin.s3.path_style", "false", boolean(&c.Origin.S3.PathStyle)},
		{"origin.s3.access_key_id", "", str(&c.Origin.S3.AccessKeyID)},
		{"origin.s3.secret_access_key", "", str(&c.Origin.S3.SecretAccessKey)},
		{"origin.max_bytes", "50MiB", size(&c.Origin.MaxBytes, 1)},
		{"origin.timeout", "10s", duration(&c.Origin.Timeout)},
		{"origin.check", "fail", oneOf(&c.Origin.Check, "fail", "warn", "off")},
		{"origin.unready_failures", "5", integer(&c.Origin.UnreadyFailures, 0, 1000)},
		{"origin.unready_window", "30s", duration(&c.Origin.UnreadyWindow)},

		{"cache.memory.size", "256MiB", size(&c.Cache.MemorySize, 0)},
		{"cache.memory.max_entry_fraction", "0.1", fraction(&c.Cache.MaxEntryFraction)},
		{"cache.originals.size", "64MiB", size(&c.Cache.OriginalsSize, 0)},
		{"cache.originals.ttl", "30s", duration(&c.Cache.OriginalsTTL)},
		{"cache.disk.dir", "", str(&c.Cache.DiskDir)},
		{"cache.disk.size", "10GiB", size(&c.Cache.DiskSize, 1)},
		{"cache.max_age", "0", durationOrZero(&c.Cache.MaxAge)},
		{"cache.shared.bucket", "", str(&c.Cache.Shared.S3.Bucket)},
		{"cache.shared.prefix", "", str(&c.Cache.Shared.S3.Prefix)},
		{"cache.shared.endpoint", "", str(&c.Cache.Shared.S3.Endpoint)},
		{"cache.shared.region", "", str(&c.Cache.Shared.S3.Region)},
		{"cache.shared.path_style", "", optionalBool(&c.Cache.Shared.S3.PathStyle, &c.Cache.Shared.pathStyleSet)},
		{"cache.shared.access_key_id", "", str(&c.Cache.Shared.S3.AccessKeyID)},
		{"cache.shared.secret_access_key", "", str(&c.Cache.Shared.S3.SecretAccessKey)},
		{"cache.shared.timeout", "1s", duration(&c.Cache.Shared.Timeout)},
		{"cache.shared.queue", "256", integer(&c.Cache.Shared.Queue, 1, 1<<20)},
		{"cache.shared.queue_bytes", "64MiB", size(&c.Cache.Shared.QueueBytes, 1)},
		{"cache.shared.purge_interval", "15s", duration(&c.Cache.Shared.PurgeInterval)},
		{"cache.shared.touch_after", "24h", duration(&c.Cache.Shared.TouchAfter)},
		{"cache.shared.read_only", "false", boolean(&c.Cache.Shared.ReadOnly)},

		{"transform.workers", "0", integer(&c.Transform.Workers, 0, 1024)},
		{"transform.queue", "64", integer(&c.Transform.Queue, 0, 1<<20)},
		{"transform.queue_timeout", "10s", duration(&c.Transform.QueueTimeout)},
		{"transform.queue_bytes", "128MiB", size(&c.Transform.QueueBytes, 0)},
		{"transform.max_source_pixels", "50000000", int64Range(&c.Transform.MaxSourcePixels, 1, 1<<40)},
		{"transform.max_output_dim", "8192", integer(&c.Transform.MaxOutputDim, 1, 1<<16)},
		{"transform.max_source_frames", "1000", integer(&c.Transform.MaxSourceFrames, 1, 1<<20)},
		{"transform.max_animation_pixels", "100000000", int64Range(&c.Transform.MaxAnimationPixels, 1, 1<<40)},
		{"transform.allow_svg", "false", boolean(&c.Transform.AllowSVG)},
		{"transform.allow_jxl", "true", boolean(&c.Transform.AllowJXL)},
		{"transform.quality.jpg", "80", integer(&c.Transform.QualityJPEG, 1, 100)},
		{"transform.quality.webp", "80", integer(&c.Transform.QualityWebP, 1, 100)},
		{"transform.quality.avif", "60", integer(&c.Transform.QualityAVIF, 1, 100)},
		{"transform.effort.webp", "4", integer(&c.Transform.EffortWebP, 0, 6)},
		{"transform.effort.avif", "2", integer(&c.Transform.EffortAVIF, 0, 9)},

		{"http.cache_control", "public, max-age=31536000, immutable", str(&c.HTTP.CacheControl)},
		{"http.cache_control_unversioned", "public, max-age=86400, stale-while-revalidate=604800", str(&c.HTTP.CacheControlUnversioned)},

		{"ratelimit.misses_per_second", "0", nonNegativeFloat(&c.RateLimit.MissesPerSecond)},
		{"ratelimit.burst", "30", integer(&c.RateLimit.Burst, 1, 1<<20)},
		{"ratelimit.trusted_proxies", "", list(&c.RateLimit.TrustedProxies)},
		{"ratelimit.max_clients", "100000", integer(&c.RateLimit.MaxClients, 1, 1<<26)},

		{"log.level", "info", logLevel(&c.Log.Level)},
		{"log.format", "text", oneOf(&c.Log.Format, "text", "json")},
	}
}

// Keys returns every configuration key with its default, in declaration order.
func Keys() [][2]string {
	var c Config
	var out [][2]string
	for _, f := range c.fields() {
		out = append(out, [2]string{f.key, f.def})
	}
	return out
}

// EnvName returns the environment variable that sets key.
func EnvName(key string) string {
	return "IMGPROXY_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func str(p *string) func(string) error {
	return func(s string) error { *p = s; return nil }
}

func boolean(p *bool) func(string) error {
	return func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		*p = b
		return nil
	}
}

// optionalBool is a boolean that may be left empty: set says whether it
// was given.
func optionalBool(p, set *bool) func(string) error {
	return func(s string) error {
		*set = strings.TrimSpace(s) != ""
		if !*set {
			return nil
		}
		return boolean(p)(strings.TrimSpace(s))
	}
}

func integer(p *int, lo, hi int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer from %d to %d, got %q", lo, hi, s)
		}
		*p = n
		return nil
	}
}

func int64Range(p *int64, lo, hi int64) func(string) error {
	return func(s string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer from %d to %d, got %q", lo, hi, s)
		}
		*p = n
		return nil
	}
}

func size(p *int64, min int64) func(string) error {
	return func(s string) error {
		n, err := ParseSize(s)
		if err != nil {
			return err
		}
		if n < min {
			return fmt.Errorf("want at least %d bytes, got %q", min, s)
		}
		*p = n
		return nil
	}
}

func fraction(p *float64) func(string) error {
	return func(s string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f <= 0 || f > 1 {
			return fmt.Errorf("want a fraction above 0 and at most 1, like 0.1, got %q", s)
		}
		*p = f
		return nil
	}
}

func duration(p *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration like 30s or 2m, got %q", s)
		}
		*p = d
		return nil
	}
}

func nonNegativeFloat(p *float64) func(string) error {
	return func(s string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("want a number of at least 0, got %q", s)
		}
		*p = f
		return nil
	}
}

// list parses a comma-separated list (a YAML list arrives joined by commas).
func list(p *[]string) func(string) error {
	return func(s string) error {
		*p = nil
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				*p = append(*p, e)
			}
		}
		return nil
	}
}

func durationOrZero(p *time.Duration) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "0" {
			*p = 0
			return nil
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return fmt.Errorf("want 0 (no limit) or a duration like 720h, got %q", s)
		}
		*p = d
		return nil
	}
}

func logLevel(p *slog.Level) func(string) error {
	return func(s string) error {
		if err := p.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("want debug, info, warn or error, got %q", s)
		}
		return nil
	}
}

func oneOf(p *string, choices ...string) func(string) error {
	return func(s string) error {
		for _, c := range choices {
			if s == c {
				*p = s
				return nil
			}
		}
		return fmt.Errorf("want one of %s, got %q", strings.Join(choices, ", "), s)
	}
}

// defaultWorkers is the worker count when transform.workers is 0.
func defaultWorkers() int { return runtime.NumCPU() }
