package anviltest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Relay is a TCP forwarder on a port the test holds for its whole life: a
// service configured with Relay.URL keeps one endpoint while the chain behind
// it stops, comes back on another port (anvil binds port 0) or has not
// started yet. While it points nowhere, connections are accepted and closed
// at once, which a JSON-RPC client sees as an unreachable endpoint.
type Relay struct {
	ln     net.Listener
	mu     sync.Mutex
	target string // host:port, "" while the chain is down
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// NewRelay listens on 127.0.0.1:0 until the test ends, pointing nowhere.
func NewRelay(t testing.TB) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{ln: ln, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() {
		ln.Close()
		r.Point("")
		r.wg.Wait()
	})
	return r
}

// URL is the relay's JSON-RPC URL.
func (r *Relay) URL() string { return "http://" + r.ln.Addr().String() }

// Point sends new connections to the chain at url ("http://host:port"), or
// nowhere for "". Connections relayed to the previous target are cut.
func (r *Relay) Point(url string) {
	host := strings.TrimPrefix(url, "http://")
	r.mu.Lock()
	r.target = host
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
	r.mu.Unlock()
}

func (r *Relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		target := r.target
		r.mu.Unlock()
		if target == "" {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		if r.target != target { // re-pointed while dialing
			r.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		r.conns[c], r.conns[up] = struct{}{}, struct{}{}
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pipe(c, up)
		go r.pipe(up, c)
	}
}

func (r *Relay) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	r.mu.Lock()
	delete(r.conns, dst)
	delete(r.conns, src)
	r.mu.Unlock()
}
