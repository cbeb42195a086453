package server

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Misses from several clients at once fetch their originals over S3
// connections that are kept and reused, not one new connection per GET:
// counted by a TCP proxy between the server and a real S3 server. With the
// originals cache off, every miss is a GET (or shares one in flight).
func TestOriginConnectionsReused(t *testing.T) {
	const clients, perClient, originals = 6, 8, 4
	bucket := s3test.Bucket(t)
	proxy := s3test.NewFaultProxy(t, bucket.Endpoint)
	s := newStack(t, func(o *stackOptions) {
		o.s3, o.endpoint, o.originals = &bucket, proxy.Endpoint(), 0
	})
	for i := range originals {
		s.s3.Put(t, fmt.Sprintf("%d.jpg", i), testimages.JPEG(testimages.Noisy(400+i, 300)))
	}
	before := proxy.Connections()
	var wg sync.WaitGroup
	errs := make(chan string, clients*perClient)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				u := s.sign(fmt.Sprintf("%d.jpg", (c+i)%originals), "w", strconv.Itoa(50+c*perClient+i))
				if r := s.get(u); r.status != 200 || r.header.Get("X-Cache") != "miss" {
					errs <- fmt.Sprintf("%s: %d %s %q", u, r.status, r.header.Get("X-Cache"), r.body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// At most one GET per client in flight at once, and a connection whose
	// response just ended may not be back in the pool yet when another
	// starts (net/http returns it from its read loop), so a couple more may
	// be dialled. Without reuse it is one per GET: 46 for 48 misses.
	if n, most := proxy.Connections()-before, int64(clients+2); n < 1 || n > most {
		t.Errorf("%d S3 connections for %d misses from %d clients at a time; want at most %d", n, clients*perClient, clients, most)
	}
	t.Logf("%d misses over %d connections", clients*perClient, proxy.Connections()-before)
}
