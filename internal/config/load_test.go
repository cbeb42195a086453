package config

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var (
	key1 = strings.Repeat("a1", 32)
	key2 = strings.Repeat("b2", 32)
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // no configs/imgproxy.yaml here
	c, err := Load(Source{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != ":8080" || c.Server.AdminAddr != "127.0.0.1:9090" || c.Server.MaxConnections != 4096 ||
		c.Origin.MaxBytes != 50<<20 || c.Origin.Timeout != 10*time.Second ||
		c.Cache.MemorySize != 256<<20 || c.Cache.DiskSize != 10<<30 ||
		c.Transform.Queue != 64 || c.Transform.MaxOutputDim != 8192 || c.Transform.Workers < 1 ||
		c.Transform.MaxSourcePixels != 50_000_000 || c.Origin.S3.Region != "us-east-1" ||
		c.HTTP.CacheControl != "public, max-age=31536000, immutable" || c.Log.Format != "text" ||
		len(c.Signing.Keys) != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

// Each source overrides the one before: default < file < environment < flag.
func TestPrecedence(t *testing.T) {
	t.Chdir(t.TempDir())
	file := writeFile(t, "c.yaml", "server:\n  addr: ':1'\n  admin_addr: ':2'\ncache:\n  memory:\n    size: 1MiB\n")
	t.Setenv("IMGPROXY_SERVER_ADMIN_ADDR", ":3")
	t.Setenv("IMGPROXY_CACHE_MEMORY_SIZE", "2MiB")

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("memory", "", "")
	fs.String("addr", "", "")
	if err := fs.Parse([]string{"--memory", "3MiB"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Source{File: file, Flags: map[string]*pflag.Flag{
		"cache.memory.size": fs.Lookup("memory"),
		"server.addr":       fs.Lookup("addr"), // not set: must not override
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != ":1" || c.Server.AdminAddr != ":3" || c.Cache.MemorySize != 3<<20 {
		t.Errorf("addr %q admin %q memory %d", c.Server.Addr, c.Server.AdminAddr, c.Cache.MemorySize)
	}
}

// An empty admin address turns the admin listener off, whichever source
// says so; before, the empty variable fell back to the default.
func TestEmptyAdminAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string // YAML
		env  *string
		flag *string
	}{
		{name: "file", file: "server:\n  admin_addr: ''\n"},
		{name: "env", env: new("")},
		{name: "env over file", file: "server:\n  admin_addr: '127.0.0.1:1'\n", env: new("")},
		{name: "flag", flag: new("")},
		{name: "flag over env", env: new("127.0.0.1:1"), flag: new("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			src := Source{File: writeFile(t, "c.yaml", tc.file)}
			if tc.env != nil {
				t.Setenv("IMGPROXY_SERVER_ADMIN_ADDR", *tc.env)
			}
			if tc.flag != nil {
				fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
				fs.String("admin-addr", "", "")
				if err := fs.Parse([]string{"--admin-addr", *tc.flag}); err != nil {
					t.Fatal(err)
				}
				src.Flags = map[string]*pflag.Flag{"server.admin_addr": fs.Lookup("admin-addr")}
			}
			c, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.AdminAddr != "" {
				t.Errorf("admin_addr = %q, want empty (off)", c.Server.AdminAddr)
			}
		})
	}
}

// Listen addresses are checked when loaded, not when the listener fails;
// an empty public address would listen on a random port of every interface.
func TestListenAddresses(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("IMGPROXY_SERVER_ADDR", "")
	t.Setenv("IMGPROXY_SERVER_ADMIN_ADDR", "9090")
	t.Setenv("IMGPROXY_SERVER_MAX_CONNECTIONS", "0")
	_, err := Load(Source{})
	for _, want := range []string{
		`server.addr: want a listen address like :8080 or 127.0.0.1:8080, got ""`,
		`server.admin_addr: want a listen address like 127.0.0.1:9090, or empty for none, got "9090"`,
		"server.max_connections (IMGPROXY_SERVER_MAX_CONNECTIONS): want an integer from 1",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q: %v", want, err)
		}
	}
	t.Setenv("IMGPROXY_SERVER_ADDR", "127.0.0.1:8080")
	t.Setenv("IMGPROXY_SERVER_ADMIN_ADDR", "[::1]:9090")
	t.Setenv("IMGPROXY_SERVER_MAX_CONNECTIONS", "100")
	if c, err := Load(Source{}); err != nil || c.Server.MaxConnections != 100 {
		t.Errorf("%v %+v", err, c)
	}
}

func TestDefaultFileIsRead(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("configs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(DefaultFile, []byte("log:\n  format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Source{})
	if err != nil || c.Log.Format != "json" {
		t.Fatalf("%v %+v", err, c)
	}
	if _, err := Load(Source{File: "missing.yaml"}); err == nil || !strings.Contains(err.Error(), "missing.yaml does not exist") {
		t.Errorf("missing named file: %v", err)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	t.Chdir(t.TempDir())
	file := writeFile(t, "c.yaml", "origin:\n  timeout: forever\n  s3:\n    bucket: b\n    bucekt: typo\n  dir: /x\n")
	t.Setenv("IMGPROXY_CACHE_MEMORY_SIZE", "lots")
	t.Setenv("IMGPROXY_TRANSFORM_WORKERS", "-1")
	t.Setenv("IMGPROXY_LOG_LEVEL", "chatty")
	t.Setenv("IMGPROXY_SIGNING_KEYS", key1+",nothex")
	_, err := Load(Source{File: file})
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"origin.timeout (IMGPROXY_ORIGIN_TIMEOUT): want a positive duration",
		"origin.s3.bucekt (in " + file + "): unknown key",
		"cache.memory.size (IMGPROXY_CACHE_MEMORY_SIZE): want a size",
		"transform.workers (IMGPROXY_TRANSFORM_WORKERS): want an integer",
		"log.level (IMGPROXY_LOG_LEVEL)",
		"signing.keys (IMGPROXY_SIGNING_KEYS): signing key 2 is not hex",
		"origin.dir and origin.s3.bucket are both set",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not report %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, key1) {
		t.Error("error message contains a key")
	}
}

func TestKeys(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("IMGPROXY_SIGNING_KEYS", key1+", "+key2)
	c, err := Load(Source{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Signing.Keys) != 2 || hex.EncodeToString(c.Signing.Keys[1]) != key2 {
		t.Errorf("keys from env: %d", len(c.Signing.Keys))
	}

	// A YAML list works too. (An empty variable would count as set, to no
	// keys, and win over the file.)
	os.Unsetenv("IMGPROXY_SIGNING_KEYS") // restored by the Setenv above
	file := writeFile(t, "c.yaml", "signing:\n  keys: ['"+key2+"', '"+key1+"']\n")
	c, err = Load(Source{File: file})
	if err != nil || len(c.Signing.Keys) != 2 || hex.EncodeToString(c.Signing.Keys[0]) != key2 {
		t.Fatalf("keys from yaml: %v", err)
	}

	// A key file, with comments.
	kf := writeFile(t, "keys", "# current\n"+key1+"\n\n# previous\n"+key2+"\n")
	t.Setenv("IMGPROXY_SIGNING_KEY_FILE", kf)
	c, err = Load(Source{})
	if err != nil || len(c.Signing.Keys) != 2 || hex.EncodeToString(c.Signing.Keys[0]) != key1 {
		t.Fatalf("key file: %v", err)
	}
	// Both: refused rather than silently picking one.
	t.Setenv("IMGPROXY_SIGNING_KEYS", key1)
	if _, err := Load(Source{}); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("keys and key_file: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "256MiB": 256 << 20, "10GiB": 10 << 30, "1.5GB": 1_500_000_000,
		"50mib": 50 << 20, "1 KiB": 1024, "7B": 7, "2TB": 2e12, " 3KB ": 3000,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1XB", "lots", "1e400", "NaN"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	if FormatSize(256<<20) != "256MiB" || FormatSize(1000) != "1000B" {
		t.Error("FormatSize")
	}
}

// The example configuration documents every key, with its default, and
// loads without error.
func TestExampleDocumentsEveryKey(t *testing.T) {
	example := filepath.Join(moduleRoot(t), "configs", "imgproxy.example.yaml")
	t.Chdir(t.TempDir())
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Source{File: example}); err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	for _, kv := range Keys() {
		leaf := kv[0][strings.LastIndex(kv[0], ".")+1:]
		if !strings.Contains(string(b), leaf+":") {
			t.Errorf("example does not document %s", kv[0])
		}
	}
	// Loaded from the example, every key has its default value.
	want, _ := Load(Source{File: writeFile(t, "empty.yaml", "")})
	got, _ := Load(Source{File: example})
	if want.Cache != got.Cache || want.Origin != got.Origin || want.Transform != got.Transform ||
		want.Server != got.Server || want.HTTP != got.HTTP || want.Log != got.Log {
		t.Errorf("example differs from defaults:\n%+v\n%+v", got, want)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for orig := dir; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above %s", orig)
		}
		dir = parent
	}
}
