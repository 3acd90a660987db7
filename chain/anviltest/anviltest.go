// Package anviltest starts a real anvil chain (Foundry, from the project's
// npm install) for a test and stops it when the test ends. Anvil binds port 0
// and the address it prints is read back, so no port is ever guessed; Relay
// gives a chain that goes away and comes back one address for its life.
package anviltest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Anvil's default, publicly known development keys (mnemonic "test test ... junk").
var devKeys = []string{
	"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
	"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
}

// Key returns anvil's i-th funded development key (0..4).
func Key(i int) *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(devKeys[i])
	if err != nil {
		panic(err)
	}
	return k
}

// Binary finds anvil: $PBTS_ANVIL, else the native binary that the npm
// package @foundry-rs/anvil installed under node_modules in this directory or
// a parent (the repository root), else PATH. The native binary, not the
// node_modules/.bin Node wrapper, so that stopping it stops the chain.
func Binary() (string, error) {
	if p := os.Getenv("PBTS_ANVIL"); p != "" {
		return p, nil
	}
	native := filepath.Join("node_modules", "@foundry-rs", "anvil-"+runtime.GOOS+"-"+runtime.GOARCH, "bin", "anvil")
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, native)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return exec.LookPath("anvil")
}

// startTimeout bounds how long anvil may take to bind and answer on a loaded
// machine.
const startTimeout = 60 * time.Second

// Node is one running anvil process.
type Node struct {
	URL  string
	cmd  *exec.Cmd
	out  *logWatcher
	done chan struct{}
}

// Run starts anvil on 127.0.0.1 port 0 with instant mining (extra args pass
// through, e.g. "--block-time", "1" or "--state", path), reads the address
// it bound from its "Listening on" line and waits until it answers eth_chainId.
func Run(ctx context.Context, args ...string) (*Node, error) {
	bin, err := Binary()
	if err != nil {
		return nil, fmt.Errorf("anvil not found (run make tools): %w", err)
	}
	// Not --silent: that also hides the "Listening on" line. Each RPC method
	// is then logged by name, into a bounded tail.
	cmd := exec.Command(bin, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...)...)
	w := newLogWatcher("Listening on ")
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop children too
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start anvil: %w", err)
	}
	n := &Node{cmd: cmd, out: w, done: make(chan struct{})}
	go func() { cmd.Wait(); close(n.done) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case addr := <-w.found:
		n.URL = "http://" + strings.TrimSpace(addr)
	case <-n.done:
		return nil, fmt.Errorf("anvil exited before listening: %s", w.String())
	case <-timer.C:
		n.Kill()
		return nil, fmt.Errorf("anvil printed no listening address in %v: %s", startTimeout, w.String())
	case <-ctx.Done():
		n.Kill()
		return nil, ctx.Err()
	}
	for {
		client, err := ethclient.Dial(n.URL)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = client.ChainID(cctx)
			cancel()
			client.Close()
			if err == nil {
				return n, nil
			}
		}
		select {
		case <-n.done:
			return nil, fmt.Errorf("anvil exited: %s", w.String())
		case <-timer.C:
			n.Kill()
			return nil, fmt.Errorf("anvil did not answer at %s in %v: %v", n.URL, startTimeout, err)
		case <-ctx.Done():
			n.Kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends anvil with SIGTERM (it then writes its --state file) and waits,
// killing it if it has not stopped within the timeout.
func (n *Node) Stop(timeout time.Duration) error {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return nil
	case <-time.After(timeout):
		n.Kill()
		return errors.New("anvil did not stop after SIGTERM; killed")
	}
}

// Kill ends anvil and its process group at once and waits for it.
func (n *Node) Kill() {
	select {
	case <-n.done:
	default:
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
}

// Done is closed when the process has exited.
func (n *Node) Done() <-chan struct{} { return n.done }

// Output is the tail of what anvil printed.
func (n *Node) Output() string { return n.out.String() }

// Chain is a running anvil with a client, stopped when the test ends.
type Chain struct {
	URL    string
	Client *ethclient.Client
	Node   *Node
}

// Start runs anvil for the test (see Run) and dials it. Missing anvil skips
// the test locally and fails it when CI is set.
func Start(t testing.TB, args ...string) *Chain {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("anvil not found (run make tools): %v", err)
		}
		t.Skipf("anvil not found (run make tools): %v", err)
	}
	n, err := Run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	c := &Chain{URL: n.URL, Node: n}
	t.Cleanup(func() {
		if c.Client != nil {
			c.Client.Close()
		}
		n.Kill()
		if t.Failed() {
			t.Logf("anvil output (tail):\n%s", n.Output())
		}
	})
	if c.Client, err = ethclient.Dial(n.URL); err != nil {
		t.Fatal(err)
	}
	return c
}

// logWatcher keeps the last tailBytes of a process's output and reports the
// rest of the first line that starts with prefix.
type logWatcher struct {
	mu     sync.Mutex
	prefix string
	line   []byte // the current incomplete line, until prefix is found
	seen   bool
	found  chan string
	tail   bytes.Buffer
}

const tailBytes = 64 << 10

func newLogWatcher(prefix string) *logWatcher {
	return &logWatcher{prefix: prefix, found: make(chan string, 1)}
}

func (w *logWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail.Write(p)
	if w.tail.Len() > 2*tailBytes {
		b := w.tail.Bytes()[w.tail.Len()-tailBytes:]
		w.tail = *bytes.NewBuffer(append([]byte(nil), b...))
	}
	if w.seen {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			if len(w.line) > 4096 { // no line is this long before the address
				w.line = w.line[len(w.line)-4096:]
			}
			return len(p), nil
		}
		l := string(bytes.TrimRight(w.line[:i], "\r"))
		w.line = w.line[i+1:]
		if rest, ok := strings.CutPrefix(l, w.prefix); ok {
			w.seen, w.line = true, nil
			w.found <- rest
			return len(p), nil
		}
	}
}

func (w *logWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.tail.String()
	if len(s) > tailBytes {
		s = s[len(s)-tailBytes:]
	}
	return s
}
