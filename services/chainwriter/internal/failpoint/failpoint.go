// Package failpoint is a test hook that makes the chainwriter die abruptly
// (SIGKILL to itself: no deferred functions, no graceful shutdown, no flush)
// at a chosen point of a transaction's life, so that tests can prove that a
// crash anywhere ends, after a restart, with every receipt counted once.
//
// It is compiled in always and inert unless PBTS_CHAINWRITER_CRASH_AT is set,
// which no deployment does. The variable holds one point, optionally limited
// to one kind of transaction and/or to a later hit:
//
//	PBTS_CHAINWRITER_CRASH_AT=[kind:]point[#n]
//
// kind is register or settle (any when absent), point one of the Point
// constants, n the hit that kills (1 when absent). Example:
// "settle:after-broadcast#2" dies right after the second settle transaction
// is accepted by the node.
package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Env is the variable that arms the hook.
const Env = "PBTS_CHAINWRITER_CRASH_AT"

// Points of a transaction's life, in order.
const (
	// BeforeSign: a settle batch is recorded in Postgres (or a registration
	// chosen), nothing is signed yet.
	BeforeSign = "before-sign"
	// AfterSign: the signed transaction is stored, not broadcast.
	AfterSign = "after-sign"
	// AfterBroadcast: the node accepted the transaction; nothing recorded since.
	AfterBroadcast = "after-broadcast"
	// AfterMined: a receipt for the transaction was read; nothing recorded since.
	AfterMined = "after-mined"
	// BeforeDBUpdate: inside the database transaction that records the
	// confirmed transaction's effects, before it commits.
	BeforeDBUpdate = "before-db-update"
)

// Points lists every point.
var Points = []string{BeforeSign, AfterSign, AfterBroadcast, AfterMined, BeforeDBUpdate}

type spec struct {
	kind, point string
	n           int
}

var (
	mu    sync.Mutex
	armed *spec
	hits  int
	// kill is replaced in tests of this package.
	kill = func(point string) {
		fmt.Fprintf(os.Stderr, "chainwriter: failpoint %s: killing self (test hook %s)\n", point, Env)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is not catchable; wait for it
	}
)

func init() {
	s, err := parse(os.Getenv(Env))
	if err != nil {
		fmt.Fprintf(os.Stderr, "chainwriter: ignoring %s: %v\n", Env, err)
		return
	}
	armed = s
}

// parse reads the variable's value; "" disarms.
func parse(v string) (*spec, error) {
	if v == "" {
		return nil, nil
	}
	s := &spec{n: 1}
	if p, n, ok := strings.Cut(v, "#"); ok {
		c, err := strconv.Atoi(n)
		if err != nil || c < 1 {
			return nil, fmt.Errorf("bad hit count %q", n)
		}
		v, s.n = p, c
	}
	if k, p, ok := strings.Cut(v, ":"); ok {
		if k != "register" && k != "settle" {
			return nil, fmt.Errorf("bad kind %q: want register or settle", k)
		}
		s.kind, v = k, p
	}
	for _, p := range Points {
		if p == v {
			s.point = v
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown point %q: want one of %s", v, strings.Join(Points, ", "))
}

// Hit kills the process if the hook is armed for this point and kind and
// this is the chosen hit. Inert (one nil check) otherwise.
func Hit(point, kind string) {
	if armed == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if armed.point != point || (armed.kind != "" && armed.kind != kind) {
		return
	}
	hits++
	if hits == armed.n {
		kill(point)
	}
}
