package cache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/cache/sharedtest"
)

// ScanShared counts entries, notices and other objects apart; with an age
// it removes only entries older than that (more than one delete batch of
// them here), never a notice or another program's object; a dry run
// counts the same and removes nothing; an entry it kept still serves.
func TestScanShared(t *testing.T) {
	store := sharedtest.NewMem()
	a := newInstance(t, store, nil)
	a.get(t, "photos/old.jpg", "w400")
	a.get(t, "photos/new.jpg", "w400")
	flush(t, a)
	written := entryKeys(store)
	if len(written) != 2 {
		t.Fatalf("entries written: %v", written)
	}
	for _, k := range written {
		if strings.Contains(k, "photos") {
			t.Fatalf("an entry's key names its original: %s", k)
		}
	}
	old := ""
	for _, k := range written {
		if strings.HasPrefix(k, sharedPrefixOf(t, "photos/old.jpg")) {
			old = k
		}
	}
	const aged = 1203 // more than one batch of deletes
	for i := range aged {
		obj := fmt.Sprintf("ab%030x", i)
		k := fmt.Sprintf("entries/ab/%s/%064x", obj, i)
		store.SetObject(k, make([]byte, 10))
		store.Age(k, 40*24*time.Hour)
	}
	store.Age(old, 31*24*time.Hour)
	oldBody := store.Object(old)
	notice(store, time.Now(), "photos/gone.jpg")
	store.SetObject("probe", []byte("x"))
	store.SetObject("entries/ab/not-hex/x", []byte("foreign"))
	store.SetObject("purges/garbage", []byte("?"))

	u, err := cache.ScanShared(context.Background(), store, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if u.Entries != aged+2 || u.Notices != 1 || u.Other != 3 || u.Removed != 0 {
		t.Errorf("report: %+v", u)
	}
	made := int64(len(store.Object(written[0])) + len(store.Object(written[1])))
	if want := aged*10 + made; u.EntryBytes != want {
		t.Errorf("entry bytes %d, want %d", u.EntryBytes, want)
	}
	if age := time.Since(u.Oldest); age < 39*24*time.Hour || time.Since(u.Newest) > time.Minute {
		t.Errorf("oldest %v, newest %v", u.Oldest, u.Newest)
	}

	before := len(store.Keys())
	dry, err := cache.ScanShared(context.Background(), store, 30*24*time.Hour, true)
	if err != nil || dry.Removed != aged+1 || dry.Entries != 1 || len(store.Keys()) != before {
		t.Errorf("dry run: %+v, %v; %d objects left of %d", dry, err, len(store.Keys()), before)
	}
	done, err := cache.ScanShared(context.Background(), store, 30*24*time.Hour, false)
	if err != nil || done.Removed != aged+1 || done.RemovedBytes != aged*10+int64(len(oldBody)) || done.Entries != 1 {
		t.Errorf("removal: %+v, %v", done, err)
	}
	if got := entryKeys(store); len(got) != 2 || got[0] != "entries/ab/not-hex/x" && got[1] != "entries/ab/not-hex/x" {
		t.Errorf("entries left: %v", got)
	}
	for _, k := range []string{"probe", "entries/ab/not-hex/x", "purges/garbage"} {
		if store.Object(k) == nil {
			t.Errorf("%s was removed", k)
		}
	}

	b := newInstance(t, store, nil)
	if _, tier := b.get(t, "photos/new.jpg", "w400"); tier != cache.TierShared {
		t.Errorf("the kept entry: %s, want shared", tier)
	}
	if _, tier := b.get(t, "photos/old.jpg", "w400"); tier != cache.TierMiss {
		t.Errorf("the removed entry: %s, want a miss", tier)
	}

	store.Down.Store(true)
	if _, err := cache.ScanShared(context.Background(), store, time.Hour, false); err == nil {
		t.Error("a store that is down: no error")
	}
}

// sharedPrefixOf is the directory under which the shared tier keeps
// objectKey's variants, read off the key a fresh instance writes for one.
func sharedPrefixOf(t *testing.T, objectKey string) string {
	t.Helper()
	probe := sharedtest.NewMem()
	in := newInstance(t, probe, nil)
	in.get(t, objectKey, "probe")
	flush(t, in)
	keys := entryKeys(probe)
	if len(keys) != 1 {
		t.Fatalf("probe keys: %v", keys)
	}
	return keys[0][:strings.LastIndexByte(keys[0], '/')+1]
}
