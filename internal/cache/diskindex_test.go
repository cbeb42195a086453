package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The index against a plain model of an LRU under a byte budget, over
// random operations: the same victims, in the same order, and the same
// totals. Once with real names, once with names that all share their short
// name (the clash map's path, which real digests reach about once in 10^7
// pairs).
func TestDiskIndexAgainstModel(t *testing.T) {
	for _, c := range []struct {
		name string
		key  func(i int) string
	}{
		{"digests", indexKey},
		{"clashing", func(i int) string { return fmt.Sprintf("%032x/%064x", i, 7) }}, // short() is 0 for all
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			const budget = 10_000
			x := newDiskIndex(budget)
			var m model
			m.budget = budget
			clashed := 0
			for step := range 20_000 {
				clashed = max(clashed, len(x.clash))
				k, size := c.key(r.IntN(60)), int64(1+r.IntN(900))
				var got, want []string
				switch op := r.IntN(4); op {
				case 0:
					got, want = x.reserve(k, size), m.reserve(k, size)
				case 1:
					got, want = x.add(k, size), m.add(k, size)
				case 2:
					if g, w := x.touch(k), m.touch(k); g != w {
						t.Fatalf("step %d: touch %v, model %v", step, g, w)
					}
				case 3:
					x.remove(k)
					m.remove(k)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("step %d: victims %v, model %v", step, got, want)
				}
				if n, used, _ := x.stats(); n != len(m.keys) || used != m.used {
					t.Fatalf("step %d: %d entries, %d bytes; model %d, %d", step, n, used, len(m.keys), m.used)
				}
			}
			if c.name == "clashing" && clashed == 0 {
				t.Error("the clash map was never used")
			}
		})
	}
}

// model is the index's behaviour, written plainly: keys[0] is the most
// recently used.
type model struct {
	budget, used int64
	keys         []string
	sizes        map[string]int64
}

func (m *model) find(k string) int { return slices.Index(m.keys, k) }

func (m *model) remove(k string) {
	if i := m.find(k); i >= 0 {
		m.used -= m.sizes[k]
		m.keys = slices.Delete(m.keys, i, i+1)
	}
}

func (m *model) evict() string {
	k := m.keys[len(m.keys)-1]
	m.remove(k)
	return k
}

func (m *model) put(k string, size int64, front bool) {
	if m.sizes == nil {
		m.sizes = map[string]int64{}
	}
	m.sizes[k] = size
	m.used += size
	if front {
		m.keys = slices.Insert(m.keys, 0, k)
	} else {
		m.keys = append(m.keys, k)
	}
}

func (m *model) reserve(k string, size int64) (victims []string) {
	m.remove(k)
	for m.used+size > m.budget && len(m.keys) > 0 {
		victims = append(victims, m.evict())
	}
	m.put(k, size, true)
	return victims
}

func (m *model) add(k string, size int64) (victims []string) {
	if m.find(k) >= 0 {
		return nil
	}
	m.put(k, size, false)
	for m.used > m.budget && len(m.keys) > 1 {
		victims = append(victims, m.evict())
	}
	return victims
}

func (m *model) touch(k string) bool {
	i := m.find(k)
	if i >= 0 {
		m.keys = slices.Insert(slices.Delete(m.keys, i, i+1), 0, k)
	}
	return i >= 0
}
