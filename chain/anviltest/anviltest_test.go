package anviltest

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
)

func chainID(url string) error {
	c, err := ethclient.Dial(url)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.ChainID(ctx)
	return err
}

// Anvil on port 0 reports the port it bound; a relay keeps one URL while the
// chain behind it goes away and comes back on another port.
func TestRunAndRelay(t *testing.T) {
	c := Start(t)
	if err := chainID(c.URL); err != nil {
		t.Fatalf("anvil at %s: %v", c.URL, err)
	}
	r := NewRelay(t)
	if err := chainID(r.URL()); err == nil {
		t.Fatal("a relay pointing nowhere answered")
	}
	r.Point(c.URL)
	if err := chainID(r.URL()); err != nil {
		t.Fatalf("relay to %s: %v", c.URL, err)
	}
	if err := c.Node.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	r.Point("")
	if err := chainID(r.URL()); err == nil {
		t.Fatal("relay answered with the chain stopped")
	}
	n, err := Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Kill()
	if n.URL == c.URL {
		t.Logf("the new anvil happens to have the old port %s", n.URL)
	}
	r.Point(n.URL)
	if err := chainID(r.URL()); err != nil {
		t.Fatalf("relay to the restarted chain: %v", err)
	}
}
