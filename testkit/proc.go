// Package testkit starts the suite's real processes for tests: a service
// binary runs with its listeners on port 0 and reports the addresses it bound
// in an address file (server.Config.AddrFile), so no test ever guesses a free
// port that something else may take first.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pbts/pbts/server"
)

// AddrTimeout bounds how long a service may take to bind its listeners on a
// loaded machine (a cold start includes migrations and dials that fail fast).
const AddrTimeout = 90 * time.Second

// Proc is one service process started by a test.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	Out  *Buffer

	t        testing.TB
	done     chan struct{}
	addrFile string
	once     sync.Once
	addrs    map[string]string
	addrErr  error
}

// Start runs bin with env (complete: the caller decides what of os.Environ
// to pass) plus PBTS_ADDR_FILE. Listener settings in env should name port 0.
// At the end of the test the process gets SIGTERM, then SIGKILL after
// 15 s; its output is logged when the test failed.
func Start(t testing.TB, name, bin string, env []string) *Proc {
	t.Helper()
	p := &Proc{Name: name, Out: &Buffer{}, t: t, done: make(chan struct{}),
		addrFile: filepath.Join(t.TempDir(), name+".addrs.json")}
	p.Cmd = exec.Command(bin)
	p.Cmd.Env = append(append([]string(nil), env...), "PBTS_ADDR_FILE="+p.addrFile)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if err := p.Stop(15 * time.Second); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, Tail(p.Out.String(), 8000))
		}
	})
	return p
}

// Addr waits until the process has written its address file and returns the
// named listener's address ("grpc", "metrics", "http"); it fails the test if
// the process exits first or the name is missing.
func (p *Proc) Addr(name string) string {
	p.t.Helper()
	p.once.Do(func() {
		p.addrs, p.addrErr = server.ReadAddrFile(context.Background(), p.addrFile, AddrTimeout, p.done)
	})
	if p.addrErr != nil {
		p.t.Fatalf("%s: %v\noutput (tail):\n%s", p.Name, p.addrErr, Tail(p.Out.String(), 4000))
	}
	a, ok := p.addrs[name]
	if !ok {
		p.t.Fatalf("%s reported no %q listener (it has %v)", p.Name, name, p.addrs)
	}
	return a
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end by itself and returns how it ended.
func (p *Proc) Wait(timeout time.Duration) (syscall.WaitStatus, error) {
	select {
	case <-p.done:
		return p.Cmd.ProcessState.Sys().(syscall.WaitStatus), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running after %v", p.Name, timeout)
	}
}

// Stop sends SIGTERM and waits up to timeout, then kills. It reports a
// process that had to be killed; an exit already over is no error.
func (p *Proc) Stop(timeout time.Duration) error {
	if p.Exited() {
		return nil
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if _, err := p.Wait(timeout); err != nil {
		p.Kill()
		return fmt.Errorf("did not stop within %v of SIGTERM; killed", timeout)
	}
	return nil
}

// Kill sends SIGKILL and waits for the end.
func (p *Proc) Kill() {
	if !p.Exited() {
		p.Cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Buffer is an io.Writer safe for a process's stdout and stderr at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail is the last n bytes of s, marked when cut.
func Tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Environ is os.Environ without PBTS_* variables (a developer's shell must
// not configure the processes under test), plus kv.
func Environ(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PBTS_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// ClosedAddr is an address where nothing listens, for tests of an
// unreachable peer: port 1 (tcpmux) is served by nothing on these machines
// and bound by no part of the suite, which binds port 0 or its documented
// defaults, so a dial is refused at once. (A port freed by a test could be
// taken by another test's listener in the meantime.)
const ClosedAddr = "127.0.0.1:1"
