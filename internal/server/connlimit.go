package server

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// ConnLimiter bounds the open connections of a listener. An idle
// keep-alive connection costs about 20 KB (its goroutine's stack and
// buffers) for as long as the idle timeout, so without a bound a client
// that only opens connections and sends one request on each holds memory
// limited by nothing but the file-descriptor limit. At the bound the
// connection idle the longest is closed to make room, so such a client
// cannot starve others; only when every connection is busy is the new one
// refused.
type ConnLimiter struct {
	max int

	mu    sync.Mutex
	conns map[net.Conn]*tracked // open connections
	idle  tracked               // sentinel of the idle ring: longest idle at idle.next
	nIdle int

	refused    int64
	idleClosed int64
}

// tracked is one open connection, linked into the idle ring while idle.
// It lives as long as the connection, so that a request's two state
// changes (active, then idle) allocate nothing: a container/list element
// per idle period was one allocation per request on the hit path.
type tracked struct {
	c          net.Conn
	prev, next *tracked // nil while active
}

// ConnStats is a snapshot of a ConnLimiter.
type ConnStats struct {
	Max        int   // the bound
	Open       int   // connections open now
	Idle       int   // of which idle between requests
	Refused    int64 // connections refused at the bound, none being idle
	IdleClosed int64 // idle connections closed to make room
}

// NewConnLimiter returns a limiter of n open connections (at least 1).
func NewConnLimiter(n int) *ConnLimiter {
	l := &ConnLimiter{max: max(n, 1), conns: make(map[net.Conn]*tracked)}
	l.idle.prev, l.idle.next = &l.idle, &l.idle
	return l
}

// pushIdle links t at the back of the idle ring (the most recent).
func (l *ConnLimiter) pushIdle(t *tracked) {
	t.prev, t.next = l.idle.prev, &l.idle
	t.prev.next, l.idle.prev = t, t
	l.nIdle++
}

// unlinkIdle takes t out of the idle ring, if it is in it.
func (l *ConnLimiter) unlinkIdle(t *tracked) {
	if t.next == nil {
		return
	}
	t.prev.next, t.next.prev = t.next, t.prev
	t.prev, t.next = nil, nil
	l.nIdle--
}

// Listener returns ln with every connection it accepts counted against the
// bound. Serve recognises it and tells the limiter which connections are
// idle; served any other way, no connection would ever count as idle.
func (l *ConnLimiter) Listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, lim: l}
}

// Stats returns the current counts.
func (l *ConnLimiter) Stats() ConnStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return ConnStats{Max: l.max, Open: len(l.conns), Idle: l.nIdle, Refused: l.refused, IdleClosed: l.idleClosed}
}

// admit counts c in, closing the longest idle connection when at the
// bound; it reports false, counting a refusal, when none is idle.
func (l *ConnLimiter) admit(c net.Conn) bool {
	l.mu.Lock()
	var victim net.Conn
	if len(l.conns) >= l.max {
		oldest := l.idle.next
		if oldest == &l.idle {
			l.refused++
			l.mu.Unlock()
			return false
		}
		// Forgotten here rather than when the server reports it closed,
		// so that the count never passes the bound.
		l.unlinkIdle(oldest)
		victim = oldest.c
		delete(l.conns, victim)
		l.idleClosed++
	}
	l.conns[c] = &tracked{c: c}
	l.mu.Unlock()
	if victim != nil {
		// As the server's own idle timeout does; a request that was
		// arriving on it at this instant fails as on any keep-alive race,
		// and clients retry those.
		victim.Close()
	}
	return true
}

// track is the http.Server's ConnState hook.
func (l *ConnLimiter) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.conns[c]
	if !ok { // closed by admit to make room, or not accepted through us
		return
	}
	l.unlinkIdle(t)
	switch s {
	case http.StateIdle:
		l.pushIdle(t)
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	}
}

type limitedListener struct {
	net.Listener
	lim *ConnLimiter
}

func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ll.lim.admit(c) {
			return c, nil
		}
		refuse(c)
	}
}

// refusal is the whole answer to a connection over the bound: no
// goroutine, no parsing, nothing kept.
const refusal = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 21\r\n" +
	"Retry-After: 1\r\n" +
	"Cache-Control: no-store\r\n" +
	"Connection: close\r\n\r\n" +
	"too many connections\n"

// refuse answers c 503 and closes it, within the accept loop.
func refuse(c net.Conn) {
	// A fresh socket's send buffer takes these bytes at once; the deadline
	// only keeps a broken one from holding up the accept loop.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	io.WriteString(c, refusal)
	c.Close()
}
