// Package anviltest starts a real anvil chain (Foundry, from the project's
// npm install) for a test and stops it when the test ends.
package anviltest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// Chain is a running anvil.
type Chain struct {
	URL    string
	Client *ethclient.Client
	cmd    *exec.Cmd
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs anvil on a free loopback port with instant mining (extra args
// are passed through, e.g. "--block-time", "1") and waits until it answers.
// Missing anvil skips the test locally and fails it when CI is set.
func Start(t testing.TB, args ...string) *Chain {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("anvil not found (run make tools): %v", err)
		}
		t.Skipf("anvil not found (run make tools): %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--silent"}, args...)...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop children too
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start anvil: %v", err)
	}
	c := &Chain{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() && out.Len() > 0 {
			t.Logf("anvil output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		client, err := ethclient.Dial(c.URL)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = client.ChainID(ctx)
			cancel()
			if err == nil {
				c.Client = client
				return c
			}
			client.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("anvil did not answer at %s: %v", c.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Chain) stop() {
	if c.Client != nil {
		c.Client.Close()
	}
	if c.cmd.Process != nil {
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		c.cmd.Wait()
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
