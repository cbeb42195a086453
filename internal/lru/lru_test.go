package lru

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](30, 0, 0)
	c.Add("a", 1, 10)
	c.Add("b", 2, 10)
	c.Add("c", 3, 10)
	c.Get("a") // a is now the most recent; b the least
	c.Add("d", 4, 10)
	if _, ok := c.Get("b"); ok {
		t.Error("b survived; it was the least recently used")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if s := c.Stats(); s.Used != 30 || s.Entries != 3 || s.Evictions != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestAdmission(t *testing.T) {
	c := New[string, int](100, 25, 0)
	if c.Add("big", 1, 26) {
		t.Error("entry over maxEntry admitted")
	}
	if !c.Add("ok", 1, 25) {
		t.Error("entry at maxEntry refused")
	}
	// Replacing an entry recounts its size.
	c.Add("ok", 2, 5)
	if v, _ := c.Get("ok"); v != 2 || c.Stats().Used != 5 {
		t.Errorf("replace: %d, used %d", v, c.Stats().Used)
	}
	if c2 := New[string, int](10, 0, 0); c2.Add("x", 1, 11) {
		t.Error("entry over the whole budget admitted")
	}
}

func TestTTL(t *testing.T) {
	c := New[string, int](100, 0, time.Minute)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.Add("a", 1, 1)
	now = now.Add(59 * time.Second)
	if _, ok := c.Get("a"); !ok {
		t.Error("expired early")
	}
	now = now.Add(2 * time.Second)
	if _, ok := c.Get("a"); ok {
		t.Error("served after its TTL")
	}
	if c.Stats().Used != 0 {
		t.Error("expired entry still counted")
	}
}

func TestRemoveFunc(t *testing.T) {
	c := New[string, string](100, 0, 0)
	c.Add("a/1", "x", 1)
	c.Add("a/2", "x", 1)
	c.Add("b/1", "x", 1)
	if n := c.RemoveFunc(func(k, _ string) bool { return k[0] == 'a' }); n != 2 {
		t.Errorf("removed %d", n)
	}
	if _, ok := c.Get("b/1"); !ok || c.Stats().Entries != 1 {
		t.Error("wrong entries removed")
	}
	if !c.Remove("b/1") || c.Remove("b/1") {
		t.Error("Remove")
	}
}

// The budget holds at every moment while many goroutines add and read.
func TestBudgetUnderConcurrency(t *testing.T) {
	const budget = 10_000
	c := New[int, []byte](budget, 2_000, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < 5000; i++ {
				k := r.IntN(500)
				if r.IntN(2) == 0 {
					c.Get(k)
				} else {
					n := r.IntN(2_500)
					c.Add(k, make([]byte, n), int64(n))
				}
			}
		}(uint64(g))
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				if s := c.Stats(); s.Used > budget || s.Used < 0 {
					panic(fmt.Sprintf("used %d of %d", s.Used, budget))
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	var sum int64
	c.RemoveFunc(func(_ int, v []byte) bool { sum += int64(len(v)); return false })
	if s := c.Stats(); s.Used != sum {
		t.Errorf("used %d, entries sum to %d", s.Used, sum)
	}
}

func BenchmarkGetParallel(b *testing.B) {
	c := New[int, []byte](1<<30, 0, 0)
	for i := 0; i < 1000; i++ {
		c.Add(i, make([]byte, 100), 100)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(i % 1000)
			i++
		}
	})
}
