package s3test

import (
	"bufio"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fault is what a FaultProxy does to the connections it accepts.
type Fault int

const (
	Pass     Fault = iota // forward everything
	Refuse                // reset every connection at once
	Delay                 // hold every connection for the proxy's delay first
	Error500              // answer every request 500 without asking upstream
	CutBody               // forward the response headers and half the body, then close
)

// FaultProxy is a TCP proxy on 127.0.0.1 between a client and an S3
// server, which injects faults on demand and counts the connections and
// requests that reach it.
type FaultProxy struct {
	ln       net.Listener
	target   string
	fault    atomic.Int32
	delay    atomic.Int64
	requests atomic.Int64
	accepted atomic.Int64
	wg       sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool // open, to close at cleanup
	done  chan struct{}     // closed at cleanup
}

// NewFaultProxy starts a proxy to target (host:port), stopped at cleanup.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{ln: ln, target: strings.TrimPrefix(target, "http://"), conns: map[net.Conn]bool{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		close(p.done)
		// Clients keep idle connections open: close them, or the handlers
		// wait for requests that never come.
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Endpoint is the proxy's URL, for an S3 client.
func (p *FaultProxy) Endpoint() string { return "http://" + p.ln.Addr().String() }

// Set changes the fault; delay is used by Delay. Open connections are
// closed, so that clients reconnect into the new fault rather than keep
// a pooled connection in the old one.
func (p *FaultProxy) Set(f Fault, delay time.Duration) {
	p.delay.Store(int64(delay))
	p.fault.Store(int32(f))
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Requests counts the requests that reached the proxy (as far as it could
// tell: one per connection for Refuse).
func (p *FaultProxy) Requests() int64 { return p.requests.Load() }

// Connections counts the client connections the proxy has accepted.
func (p *FaultProxy) Connections() int64 { return p.accepted.Load() }

func (p *FaultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		p.track(c, true)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			defer c.Close()
			p.handle(c)
		}()
	}
}

func (p *FaultProxy) track(c net.Conn, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *FaultProxy) handle(c net.Conn) {
	switch Fault(p.fault.Load()) {
	case Refuse:
		p.requests.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, as a refused or crashed server gives
		}
		return
	case Delay:
		p.requests.Add(1)
		select {
		case <-time.After(time.Duration(p.delay.Load())):
		case <-p.done:
			return
		}
	case Error500:
		br := bufio.NewReader(c)
		for {
			if err := skipRequest(br); err != nil {
				return
			}
			p.requests.Add(1)
			io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: 0\r\n\r\n")
		}
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(up, true)
	defer p.track(up, false)
	defer up.Close()
	if Fault(p.fault.Load()) != Delay {
		p.requests.Add(1)
	}
	go io.Copy(up, c)
	if Fault(p.fault.Load()) == CutBody {
		cutResponse(c, up)
		return
	}
	io.Copy(c, up)
}

// skipRequest reads one request with no body (a GET) from br.
func skipRequest(br *bufio.Reader) error {
	tp := textproto.NewReader(br)
	if _, err := tp.ReadLine(); err != nil { // the request line
		return err
	}
	_, err := tp.ReadMIMEHeader()
	return err
}

// cutResponse forwards the response's headers and half its body.
func cutResponse(c net.Conn, up net.Conn) {
	br := bufio.NewReader(up)
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, line)
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	io.CopyN(c, br, int64(length/2))
}
