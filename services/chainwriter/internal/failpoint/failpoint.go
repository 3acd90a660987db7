// Package failpoint is a test hook that makes the chainwriter die abruptly
// (SIGKILL to itself: no deferred functions, no graceful shutdown, no flush)
// at a chosen point of a transaction's life, so that tests can prove that a
// crash anywhere ends, after a restart, with every receipt counted once.
//
// It exists only in test builds: built with the tag pbts_failpoints (the
// e2e tests build the binary so) it is armed by PBTS_CHAINWRITER_CRASH_AT;
// without the tag (the release binary, `go build` and the images) Hit is an
// empty function, Enabled is false and the variable is ignored. The
// variable holds one point, optionally limited to one kind of transaction
// and/or to a later hit:
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
	"strconv"
	"strings"
)

// Env is the variable that arms the hook (in test builds only).
const Env = "PBTS_CHAINWRITER_CRASH_AT"

// Tag is the build tag that compiles the hook in.
const Tag = "pbts_failpoints"

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
