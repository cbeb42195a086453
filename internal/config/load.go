package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/imgproxy-team/imgproxy/internal/ratelimit"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// DefaultFile is read when no file is named and it exists.
const DefaultFile = "configs/imgproxy.yaml"

// Source says where configuration comes from besides defaults and the
// environment.
type Source struct {
	// File is the YAML file named by --config; empty means DefaultFile when
	// it exists.
	File string
	// Flags maps configuration keys to command-line flags that set them.
	// Only flags the user changed override the other sources.
	Flags map[string]*pflag.Flag
}

// Load reads defaults, then the YAML file, then IMGPROXY_* environment
// variables, then flags, and validates the result. Every problem is
// reported at once, each with its key's name.
func Load(src Source) (*Config, error) {
	v := viper.New()
	// An empty variable is a value, as `key: ""` in the file and --flag ""
	// are: IMGPROXY_SERVER_ADMIN_ADDR= turns the admin listener off rather
	// than silently falling back to the file or the default.
	v.AllowEmptyEnv(true)
	c := &Config{}
	fields := c.fields()
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		v.SetDefault(f.key, f.def)
		known[f.key] = true
		// Bound explicitly rather than through AutomaticEnv, so that every
		// key is found in the environment even when no file mentions it.
		if err := v.BindEnv(f.key, EnvName(f.key)); err != nil {
			return nil, err
		}
	}
	for key, fl := range src.Flags {
		if !known[key] {
			return nil, fmt.Errorf("flag --%s is bound to unknown key %s", fl.Name, key)
		}
		if err := v.BindPFlag(key, fl); err != nil {
			return nil, err
		}
	}

	file := src.File
	if file == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			file = DefaultFile
		}
	}
	var errs []error
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("config file %s does not exist", file)
			}
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		var unknown []string
		for _, k := range v.AllKeys() {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			errs = append(errs, fmt.Errorf("%s (in %s): unknown key", k, file))
		}
	}

	for _, f := range fields {
		if err := f.set(value(v.Get(f.key))); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", f.key, EnvName(f.key), err))
		}
	}
	// A key file named on the command line is the highest source: it
	// replaces keys from the file or environment rather than clashing.
	if fl := src.Flags["signing.key_file"]; fl != nil && fl.Changed {
		c.Signing.Keys = nil
	}
	errs = append(errs, c.validate()...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// value turns what viper holds (a string from the environment or a flag, a
// number, bool or list from YAML) into the string a field parses.
func value(x any) string {
	switch x := x.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(x, ",")
	}
	return fmt.Sprint(x)
}

// hexKeys parses a comma- or newline-separated list of hex keys.
func hexKeys(p *[][]byte) func(string) error {
	return func(s string) error {
		list := splitKeys(s)
		if len(list) == 0 {
			*p = nil
			return nil
		}
		keys, err := urlsig.ParseKeys(list)
		*p = keys
		return err
	}
}

// splitKeys splits a key list on commas, newlines and spaces, skipping blank
// entries and # comment lines.
func splitKeys(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' })...)
	}
	return out
}

// minOriginSecret is the shortest origin secret accepted: it is all that
// stands between the internet and the origin when there is no mTLS.
const minOriginSecret = 16

// validate checks what no single field can: combinations, and the key file.
func (c *Config) validate() []error {
	var errs []error
	if c.Signing.KeyFile != "" {
		if len(c.Signing.Keys) > 0 {
			errs = append(errs, errors.New("signing.keys and signing.key_file are both set: use one"))
		} else if err := c.readKeyFile(); err != nil {
			errs = append(errs, fmt.Errorf("signing.key_file: %w", err))
		}
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		errs = append(errs, fmt.Errorf("server.addr: want a listen address like :8080 or 127.0.0.1:8080, got %q", c.Server.Addr))
	}
	if a := c.Server.AdminAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("server.admin_addr: want a listen address like 127.0.0.1:9090, or empty for none, got %q", a))
		}
	}
	if (c.Server.TLSCert == "") != (c.Server.TLSKey == "") {
		errs = append(errs, errors.New("server.tls_cert and server.tls_key must be set together"))
	}
	if c.Server.TLSClientCA != "" && c.Server.TLSCert == "" {
		errs = append(errs, errors.New("server.tls_client_ca needs server.tls_cert and server.tls_key: client certificates are checked in the TLS handshake"))
	}
	if s := c.Server.OriginSecret; s != "" && len(strings.TrimSpace(s)) < minOriginSecret {
		// The message never holds the secret, only its length.
		errs = append(errs, fmt.Errorf("server.origin_secret (%s): %d characters; use at least %d (imgproxy keygen makes 64)",
			EnvName("server.origin_secret"), len(strings.TrimSpace(s)), minOriginSecret))
	}
	if c.Origin.Dir != "" && c.Origin.S3.Bucket != "" {
		errs = append(errs, errors.New("origin.dir and origin.s3.bucket are both set: use one origin"))
	}
	if (c.Origin.S3.AccessKeyID == "") != (c.Origin.S3.SecretAccessKey == "") {
		errs = append(errs, errors.New("origin.s3.access_key_id and origin.s3.secret_access_key must be set together"))
	}
	errs = append(errs, c.Cache.Shared.inherit(c.Origin.S3)...)
	if b := c.Signing.BaseURL; b != "" && !strings.HasPrefix(b, "http://") && !strings.HasPrefix(b, "https://") {
		errs = append(errs, fmt.Errorf("signing.base_url: want an http:// or https:// URL, got %q", b))
	}
	c.Signing.BaseURL = strings.TrimRight(c.Signing.BaseURL, "/")
	if _, err := ratelimit.ParsePrefixes(c.RateLimit.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("ratelimit.trusted_proxies: %w", err))
	}
	if c.Transform.Workers == 0 {
		c.Transform.Workers = defaultWorkers()
	}
	return errs
}

func (c *Config) readKeyFile() error {
	b, err := os.ReadFile(c.Signing.KeyFile)
	if err != nil {
		// The path is the operator's own; the error never holds key bytes.
		return err
	}
	list := splitKeys(string(b))
	if len(list) == 0 {
		return fmt.Errorf("%s holds no key", c.Signing.KeyFile)
	}
	keys, err := urlsig.ParseKeys(list)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Signing.KeyFile, err)
	}
	c.Signing.Keys = keys
	return nil
}

// inherit gives the shared tier's unset connection fields the origin's
// values (the results usually live beside the originals), and checks it.
func (sc *SharedCache) inherit(o S3) []error {
	s := &sc.S3
	if s.Bucket == "" {
		return nil
	}
	if s.Endpoint == "" {
		s.Endpoint = o.Endpoint
	}
	if s.Region == "" {
		s.Region = o.Region
	}
	if !sc.pathStyleSet {
		s.PathStyle = o.PathStyle
	}
	var errs []error
	if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
		errs = append(errs, errors.New("cache.shared.access_key_id and cache.shared.secret_access_key must be set together"))
	}
	if s.AccessKeyID == "" {
		s.AccessKeyID, s.SecretAccessKey = o.AccessKeyID, o.SecretAccessKey
	}
	if b := s.Bucket; b == o.Bucket && strings.Trim(s.Prefix, "/") == strings.Trim(o.Prefix, "/") && s.Endpoint == o.Endpoint {
		errs = append(errs, fmt.Errorf("cache.shared.bucket %q: the same bucket and prefix as the originals; give the results a prefix of their own (cache.shared.prefix) or another bucket", b))
	}
	return errs
}
