package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// fleet is several "instances" (whole server stacks, each with its own
// origin proxy counting GETs, transformer and caches) over one originals
// bucket and one results bucket on versitygw.
type fleet struct {
	t         *testing.T
	originals s3test.Config
	results   s3test.Config
}

const resultsPrefix = "results"

func newFleet(t *testing.T) *fleet {
	f := &fleet{t: t, originals: s3test.Bucket(t), results: s3test.Bucket(t)}
	f.originals.Put(t, "cat.jpg", testimages.JPEG(testimages.Photo(600, 400)))
	f.originals.Put(t, "dog.jpg", testimages.JPEG(testimages.Quadrants(500, 300)))
	return f
}

// instance starts a server stack whose shared tier reaches the results
// bucket at endpoint ("" for versitygw directly).
func (f *fleet) instance(endpoint string, mod func(*cache.SharedConfig), stackMod func(*stackOptions)) (*stack, *cache.Shared) {
	f.t.Helper()
	rc := f.results.OriginConfig(1)
	rc.Prefix = resultsPrefix
	if endpoint != "" {
		rc.Endpoint = endpoint
	}
	rc.MaxAttempts = 1
	store, err := cache.NewS3Store(context.Background(), rc)
	if err != nil {
		f.t.Fatal(err)
	}
	cfg := cache.SharedConfig{Store: store, Timeout: 300 * time.Millisecond, WriteTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	shared := cache.NewShared(cfg)
	f.t.Cleanup(func() { shared.Close(context.Background()) })
	s := newStack(f.t, func(o *stackOptions) {
		o.s3, o.shared = &f.originals, shared
		if stackMod != nil {
			stackMod(o)
		}
	})
	return s, shared
}

// objects lists the results bucket.
func (f *fleet) objects() []string {
	f.t.Helper()
	out, err := f.results.Client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &f.results.Bucket})
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func flushed(t *testing.T, s *cache.Shared) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, who string, r response, tier string) {
	t.Helper()
	if r.status != 200 || r.header.Get("X-Cache") != tier {
		t.Fatalf("%s: %d X-Cache %q, want 200 %q (%s)", who, r.status, r.header.Get("X-Cache"), tier, r.body)
	}
}

// What instance A transformed, instance B serves from the shared tier with
// zero origin GETs and zero transforms, the same bytes and headers; it
// keeps it on its disk; and a third instance with an empty disk does the
// same.
func TestSharedTierServesAcrossInstances(t *testing.T) {
	f := newFleet(t)
	a, aShared := f.instance("", nil, nil)
	b, _ := f.instance("", nil, func(o *stackOptions) { o.diskDir = t.TempDir() })
	path := a.sign("cat.jpg", "fm", "webp", "w", "200")

	ra := a.get(path)
	expect(t, "A", ra, "miss")
	flushed(t, aShared)
	if objs := f.objects(); len(objs) != 1 || !strings.HasPrefix(objs[0], resultsPrefix+"/entries/") {
		t.Fatalf("results bucket holds %q, want one entry under %s/entries/", objs, resultsPrefix)
	}

	rb := b.get(path)
	expect(t, "B", rb, "shared")
	if !bytes.Equal(rb.body, ra.body) {
		t.Errorf("B served %d bytes, A %d: not the same", len(rb.body), len(ra.body))
	}
	for _, h := range []string{"Content-Type", "Etag", "Last-Modified", "Content-Length"} {
		if rb.header.Get(h) != ra.header.Get(h) {
			t.Errorf("%s: B %q, A %q", h, rb.header.Get(h), ra.header.Get(h))
		}
	}
	if g, tr, fills := b.gets(), b.tr.Stats().Done, b.cache.Stats().Fills; g != 0 || tr != 0 || fills != 0 {
		t.Errorf("B: %d origin GETs, %d transforms, %d fills; want none", g, tr, fills)
	}
	expect(t, "B again", b.get(path), "memory")
	if s := b.cache.Stats().Disk; s.Entries != 1 {
		t.Errorf("B's disk holds %d entries, want the promoted 1", s.Entries)
	}

	c, _ := f.instance("", nil, func(o *stackOptions) { o.diskDir = t.TempDir() })
	expect(t, "C (empty disk)", c.get(path), "shared")
	if c.gets() != 0 || c.tr.Stats().Done != 0 {
		t.Errorf("C: %d origin GETs, %d transforms", c.gets(), c.tr.Stats().Done)
	}
}

// A corrupt, truncated or foreign object in the results bucket is a miss
// (one origin GET, one transform), counted, and replaced with a good one.
func TestSharedTierBadObjectReplaced(t *testing.T) {
	f := newFleet(t)
	a, aShared := f.instance("", nil, nil)
	path := a.sign("cat.jpg", "w", "150")
	want := a.get(path)
	flushed(t, aShared)
	key := f.objects()[0]
	good := getObject(t, f.results, key)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x20
	for name, bad := range map[string][]byte{
		"flipped":   flipped,
		"truncated": good[:len(good)-1],
		"foreign":   testimages.JPEG(testimages.Quadrants(10, 10)),
	} {
		t.Run(name, func(t *testing.T) {
			f.results.Put(t, key, bad)
			b, bShared := f.instance("", nil, nil)
			expect(t, "B", b.get(path), "miss")
			flushed(t, bShared)
			if s := bShared.Stats(); s.Corrupt != 1 || s.Writes != 1 || b.gets() != 1 || b.tr.Stats().Done != 1 {
				t.Errorf("B: %+v, %d origin GETs, %d transforms; want 1 corrupt, 1 write, 1 GET, 1 transform",
					s, b.gets(), b.tr.Stats().Done)
			}
			c, _ := f.instance("", nil, nil)
			rc := c.get(path)
			expect(t, "C", rc, "shared")
			if !bytes.Equal(rc.body, want.body) {
				t.Error("the replacement differs from what A made")
			}
		})
	}
}

func getObject(t *testing.T, c s3test.Config, key string) []byte {
	t.Helper()
	out, err := c.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &c.Bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(out.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// With the results bucket refusing connections or not answering, requests
// are transformed and answered 200; the wait is bounded by the tier's
// timeout once per pause, and the failure shows in the stats and Err
// (which /readyz shows as detail).
func TestSharedTierDown(t *testing.T) {
	f := newFleet(t)
	proxy := s3test.NewFaultProxy(t, f.results.Endpoint)
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		fault s3test.Fault
	}{{"refused", s3test.Refuse}, {"hanging", s3test.Delay}, {"500", s3test.Error500}} {
		t.Run(tc.name, func(t *testing.T) {
			a, aShared := f.instance(proxy.Endpoint(), func(c *cache.SharedConfig) { c.Timeout = timeout; c.Pause = time.Minute }, nil)
			// The same variant, made once while the bucket answers, by a
			// stack without the tier: the cost of a plain miss.
			base := newStack(t, func(o *stackOptions) { o.s3 = &f.originals })
			start := time.Now()
			expect(t, "baseline", base.get(base.sign("dog.jpg", "w", "100")), "miss")
			plain := time.Since(start)

			proxy.Set(tc.fault, 10*time.Second)
			defer proxy.Set(s3test.Pass, 0)
			start = time.Now()
			expect(t, "first", a.get(a.sign("dog.jpg", "w", "100")), "miss")
			first := time.Since(start)
			t.Logf("a plain miss %v; the first miss with the bucket %s %v", plain, tc.name, first)
			if first > plain+timeout+500*time.Millisecond {
				t.Errorf("first miss took %v; a plain miss %v, the tier's timeout %v", first, plain, timeout)
			}
			before := proxy.Requests()
			start = time.Now()
			for _, w := range []string{"101", "102", "103", "104"} {
				expect(t, "w="+w, a.get(a.sign("dog.jpg", "w", w)), "miss")
			}
			if d := time.Since(start); d > 4*plain+500*time.Millisecond {
				t.Errorf("4 misses while paused took %v (a plain miss %v)", d, plain)
			}
			if n := proxy.Requests() - before; n != 0 {
				t.Errorf("%d requests reached the bucket while the tier was paused", n)
			}
			s := aShared.Stats()
			if !s.Failing || s.GetErrors != 1 || s.Skipped != 4 || s.DroppedUnavailable != 5 || aShared.Err() == nil {
				t.Errorf("stats %+v, Err %v: want failing, 1 read error, 4 skipped, 5 writes dropped", s, aShared.Err())
			}
		})
	}
}

// Purge through one instance removes the original's variants from the
// results bucket (and only its): another instance then misses them.
func TestSharedTierPurge(t *testing.T) {
	f := newFleet(t)
	a, aShared := f.instance("", nil, nil)
	for _, w := range []string{"100", "200"} {
		expect(t, "A cat "+w, a.get(a.sign("cat.jpg", "w", w)), "miss")
	}
	expect(t, "A dog", a.get(a.sign("dog.jpg", "w", "100")), "miss")
	flushed(t, aShared)
	if n := len(f.objects()); n != 3 {
		t.Fatalf("%d objects, want 3", n)
	}
	n, err := a.cache.Purge("cat.jpg")
	if err != nil || n != 2 {
		t.Fatalf("purge: %d, %v; want 2 variants", n, err)
	}
	// Left: dog.jpg's variant, and the notice that tells the other
	// instances of the purge.
	var entries, notices int
	for _, o := range f.objects() {
		switch {
		case strings.Contains(o, "/entries/"):
			entries++
		case strings.Contains(o, "/purges/"):
			notices++
		}
	}
	if entries != 1 || notices != 1 {
		t.Errorf("after purge: %d entries and %d notices, want dog.jpg's one and one notice", entries, notices)
	}
	b, _ := f.instance("", nil, nil)
	expect(t, "B cat", b.get(b.sign("cat.jpg", "w", "100")), "miss")
	expect(t, "B dog", b.get(b.sign("dog.jpg", "w", "100")), "shared")
}
