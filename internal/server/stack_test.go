package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

const testKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// stack is the whole serving path over real HTTP: versitygw (through a
// proxy that counts GETs), the shared origin, libvips, the memory cache.
type stack struct {
	t      *testing.T
	url    string
	s3     s3test.Config
	dir    string // the directory origin's, when not S3
	gets   func() int64
	tr     *transform.Transformer
	cache  *cache.Cache
	disk   *cache.Disk
	shared *origin.Shared
	signer *sign.Signer
	logs   *syncBuffer
	close  func()
}

type stackOptions struct {
	maxBytes      int64
	originTimeout time.Duration
	endpoint      string // instead of versitygw's, for fault tests
	bucket        string
	workers       int
	queue         int
	memory        int64
	originals     int64
	requestTO     time.Duration
	diskDir       string // enables the disk tier
	allowSVG      bool
	limiter       MissLimiter
	s3            *s3test.Config // reuse a bucket (a "restarted" server)
	dir           string         // serve from this directory instead of S3
	badTTL        time.Duration  // how long a refused original is remembered
	shared        *cache.Shared  // the shared tier, when set
}

func newStack(t *testing.T, mod func(*stackOptions)) *stack {
	t.Helper()
	o := stackOptions{maxBytes: 10 << 20, originTimeout: 5 * time.Second, workers: 2, queue: 16,
		memory: 64 << 20, originals: 16 << 20, requestTO: 10 * time.Second, badTTL: time.Minute}
	if mod != nil {
		mod(&o)
	}
	var (
		bucket s3test.Config
		gets   func() int64
		src    Origin
		err    error
	)
	if o.dir != "" {
		if src, err = origin.NewDir(o.dir, o.maxBytes); err != nil {
			t.Fatal(err)
		}
		gets = func() int64 { return -1 } // not counted
	} else {
		src, bucket, gets = s3Origin(t, o)
	}
	tr, err := transform.New(transform.Config{
		Workers: o.workers, Queue: o.queue, QueueTimeout: 5 * time.Second,
		Limits:   transform.Limits{MaxSourcePixels: 50_000_000, MaxOutputDim: 8192, AllowSVG: o.allowSVG, AllowJXL: true},
		Encoding: transform.Encoding{QualityJPEG: 80, QualityWebP: 80, QualityAVIF: 60, EffortWebP: 4, EffortAVIF: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(testKeyHex)
	ring, _ := urlsig.NewKeyRing([][]byte{key})
	logs := &syncBuffer{}
	var disk *cache.Disk
	if o.diskDir != "" {
		if disk, err = cache.OpenDisk(cache.DiskConfig{Dir: o.diskDir, Size: 64 << 20,
			Logger: slog.New(slog.NewTextHandler(logs, nil))}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { disk.Close() })
	}
	c := cache.New(cache.Config{MemorySize: o.memory, MaxEntryFraction: 0.5, FillTimeout: o.requestTO, Disk: disk, Shared: o.shared})
	shared := origin.NewShared(src, o.originals, time.Minute)
	h := New(Config{
		Ring:                    ring,
		Limits:                  params.DefaultLimits,
		CacheControl:            "public, max-age=31536000, immutable",
		CacheControlUnversioned: "public, max-age=86400, stale-while-revalidate=604800",
		Timeout:                 o.requestTO,
		Logger:                  slog.New(slog.NewTextHandler(logs, nil)),
		Ready:                   disk.Writable,
		Limiter:                 o.limiter,
		BadOriginalTTL:          o.badTTL,
	}, shared, tr, c)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &stack{t: t, url: ts.URL, s3: bucket, dir: o.dir, gets: gets, tr: tr, cache: c, disk: disk, shared: shared,
		signer: &sign.Signer{Ring: ring, Limits: params.DefaultLimits}, logs: logs,
		close: func() { ts.Close(); disk.Close() }} // a restarted server takes the directory's lock
}

// s3Origin is the S3 origin of a stack: a bucket on versitygw, reached
// through a proxy that counts GETs.
func s3Origin(t *testing.T, o stackOptions) (Origin, s3test.Config, func() int64) {
	t.Helper()
	var bucket s3test.Config
	if o.s3 != nil {
		bucket = *o.s3
	} else {
		bucket = s3test.Bucket(t)
	}
	proxy, gets := s3test.CountingProxy(t, bucket.Endpoint)
	oc := bucket.OriginConfig(o.maxBytes)
	oc.Endpoint, oc.Timeout = proxy, o.originTimeout
	if o.endpoint != "" {
		oc.Endpoint = o.endpoint
	}
	if o.bucket != "" {
		oc.Bucket = o.bucket
	}
	src, err := origin.NewS3(context.Background(), oc)
	if err != nil {
		t.Fatal(err)
	}
	return src, bucket, gets
}

// put stores an original under key in the stack's origin.
func (s *stack) put(key string, body []byte) {
	s.t.Helper()
	if s.dir == "" {
		s.s3.Put(s.t, key, body)
		return
	}
	p := filepath.Join(s.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// sign returns a signed path for key and name=value pairs.
func (s *stack) sign(key string, kv ...string) string {
	s.t.Helper()
	var ps []urlsig.Param
	for i := 0; i < len(kv); i += 2 {
		ps = append(ps, urlsig.Param{Name: kv[i], Value: kv[i+1]})
	}
	u, err := s.signer.URL(key, ps)
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request for path (sent exactly as given) with header pairs.
func (s *stack) do(method, path string, hdr ...string) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+"/", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	// Opaque keeps the request target byte for byte: the canonical check
	// must see what a browser would send, not what Go would re-encode.
	req.URL.Opaque = path
	for i := 0; i < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

func (s *stack) get(path string, hdr ...string) response { return s.do(http.MethodGet, path, hdr...) }

// secrets are strings that must never reach a client or a log line.
func (s *stack) secrets() []string {
	host := strings.TrimPrefix(s.s3.Endpoint, "http://")
	return []string{testKeyHex, s.s3.SecretKey, s.s3.AccessKey, host, s.s3.Bucket}
}

func (s *stack) checkNoLeak(where string, b []byte) {
	s.t.Helper()
	for _, secret := range s.secrets() {
		if secret != "" && bytes.Contains(b, []byte(secret)) {
			s.t.Errorf("%s contains %q:\n%s", where, secret, b)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
