package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

// `cache shared` on versitygw, under a prefix: it reports entries, purge
// notices and another program's object apart; --older-than with
// --dry-run removes nothing, without it removes the entry not read for
// that long and nothing else; mistakes are refused before any listing.
func TestCacheShared(t *testing.T) {
	server := s3test.StartServer(t)
	results := server.Bucket(t)
	const prefix = "results/"
	sc := results.OriginConfig(0)
	sc.Prefix = prefix
	store, err := cache.NewS3Store(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	shared := cache.NewShared(cache.SharedConfig{Store: store, Timeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	for _, obj := range []string{"old.jpg", "new.jpg"} {
		shared.Put(params.CacheKey("/"+obj+"?w=100", params.FormatDefault), &cache.Entry{Body: make([]byte, 3000),
			ContentType: "image/jpeg", ObjectKey: obj, Created: time.Now()})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shared.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.New(cache.Config{MemorySize: 1 << 20, Shared: shared}).Purge("gone.jpg"); err != nil { // leaves a notice
		t.Fatal(err)
	}
	shared.Close(ctx)
	results.Put(t, prefix+"notes.txt", []byte("someone else's"))
	results.Put(t, "outside-the-prefix.txt", []byte("not counted"))

	var keys []string
	store.List(ctx, "entries/", func(o cache.ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if len(keys) != 2 {
		t.Fatalf("entries: %v", keys)
	}
	oldKey := sharedEntryOf(t, store, "old.jpg")
	server.Age(t, results, prefix+oldKey, 31*24*time.Hour)

	t.Setenv("IMGPROXY_CACHE_SHARED_BUCKET", results.Bucket)
	t.Setenv("IMGPROXY_CACHE_SHARED_PREFIX", prefix)
	t.Setenv("IMGPROXY_CACHE_SHARED_ENDPOINT", results.Endpoint)
	t.Setenv("IMGPROXY_CACHE_SHARED_ACCESS_KEY_ID", results.AccessKey)
	t.Setenv("IMGPROXY_CACHE_SHARED_SECRET_ACCESS_KEY", results.SecretKey)
	t.Setenv("IMGPROXY_CACHE_SHARED_PATH_STYLE", "true")

	code, out, errOut := run(t, "", "", "cache", "shared")
	for _, want := range []string{"entries: 2 (5.9", "notices: 1 purge notices", "other:   1 object(s)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("report lacks %q (exit %d, %s):\n%s", want, code, errOut, out)
		}
	}
	if strings.Contains(out, "removed") {
		t.Errorf("a report without --older-than removed:\n%s", out)
	}
	code, out, errOut = run(t, "", "", "cache", "shared", "--older-than", "30d", "--dry-run")
	if code != 0 || !strings.Contains(out, "would remove 1 entries (2.9") {
		t.Errorf("dry run: exit %d %s\n%s", code, errOut, out)
	}
	if got := sharedEntryOf(t, store, "old.jpg"); got != oldKey {
		t.Errorf("the dry run removed %s", oldKey)
	}
	code, out, errOut = run(t, "", "", "cache", "shared", "--older-than", "720h")
	if code != 0 || !strings.Contains(out, "removed 1 entries (2.9") || !strings.Contains(out, "entries: 1 (") {
		t.Errorf("removal: exit %d %s\n%s", code, errOut, out)
	}
	var left []string
	store.List(ctx, "", func(o cache.ObjectInfo) error { left = append(left, o.Key); return nil })
	if len(left) != 3 || left[0] != sharedEntryOf(t, store, "new.jpg") || left[1] != "notes.txt" || !strings.HasPrefix(left[2], "purges/") {
		t.Errorf("objects left: %v", left)
	}
	if strings.Contains(out+errOut, results.SecretKey) {
		t.Error("the output holds the secret")
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--older-than", "soon"}, `--older-than "soon": want a positive duration`},
		{[]string{"--older-than", "-1h"}, "want a positive duration"},
		{[]string{"--dry-run"}, "--dry-run needs --older-than"},
	} {
		if code, out, errOut := run(t, "", "", append([]string{"cache", "shared"}, c.args...)...); code != 1 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q %q, want %q", c.args, code, out, errOut, c.want)
		}
	}
	t.Setenv("IMGPROXY_CACHE_SHARED_BUCKET", results.Bucket+"-missing")
	if code, _, errOut := run(t, "", "", "cache", "shared"); code != 1 || !strings.Contains(errOut, results.Bucket+"-missing") {
		t.Errorf("a missing bucket: exit %d %q", code, errOut)
	}
	t.Setenv("IMGPROXY_CACHE_SHARED_BUCKET", "")
	if code, _, errOut := run(t, "", "", "cache", "shared"); code != 1 || !strings.Contains(errOut, "no shared tier: set cache.shared.bucket") {
		t.Errorf("no bucket: exit %d %q", code, errOut)
	}
}

// sharedEntryOf is the key of the one entry of objectKey in store, found by
// the original's key that an entry's header holds.
func sharedEntryOf(t *testing.T, store cache.Store, objectKey string) string {
	t.Helper()
	var found string
	store.List(context.Background(), "entries/", func(o cache.ObjectInfo) error {
		b, _, err := store.Get(context.Background(), o.Key, 1<<20)
		if err == nil && strings.Contains(string(b), objectKey) {
			found = o.Key
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no entry of %s", objectKey)
	}
	return found
}
