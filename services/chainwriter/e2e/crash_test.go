package e2e

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/chain"
)

// firstTx is the first transaction of a kind the writer stored, as the
// database holds it right after the crash.
type firstTx struct {
	found   bool
	hash    common.Hash // its first signed version
	sent    bool        // a node accepted it (sent_at recorded)
	state   string
	attempt int
}

func (w *world) firstTx(kind string) firstTx {
	w.t.Helper()
	var (
		f    firstTx
		hash []byte
	)
	err := w.pool.QueryRow(context.Background(), `SELECT a.hash, a.sent_at IS NOT NULL, t.state,
			(SELECT count(*) FROM chainwriter_tx_attempts x WHERE x.tx_id = t.id)
		FROM chainwriter_txs t JOIN chainwriter_tx_attempts a ON a.tx_id = t.id
		WHERE t.kind = $1 ORDER BY t.nonce, a.signed_at LIMIT 1`, kind).Scan(&hash, &f.sent, &f.state, &f.attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return f
	}
	if err != nil {
		w.t.Fatal(err)
	}
	f.found, f.hash = true, common.BytesToHash(hash)
	return f
}

func (w *world) registeredOnChain(i int) bool {
	w.t.Helper()
	rep, err := chain.ReadReputation(context.Background(), w.client, w.dep.Tracker, w.addr(i))
	if err != nil {
		w.t.Fatal(err)
	}
	return rep.Known
}

// TestCrashAtEachPoint kills the chainwriter process (SIGKILL, by its
// failpoint) at each point of a registration's and of a settle batch's life,
// checks what the crash left behind, restarts it without the failpoint while
// more receipts arrive, and proves that every receipt is counted exactly once
// on chain.
func TestCrashAtEachPoint(t *testing.T) {
	type evidence struct {
		chainDone bool // the crashed transaction is on chain already
		stored    bool // its signed version is stored
		sent      bool // a node accepted it before the crash (recorded)
	}
	cases := []struct {
		crashAt string
		kind    string
		want    evidence
	}{
		{"register:before-sign", "register", evidence{}},
		{"register:after-sign", "register", evidence{stored: true}},
		{"register:after-broadcast", "register", evidence{stored: true, chainDone: true}},
		{"register:after-mined", "register", evidence{stored: true, chainDone: true, sent: true}},
		{"register:before-db-update", "register", evidence{stored: true, chainDone: true, sent: true}},
		{"settle:before-sign", "settle", evidence{}},
		{"settle:after-sign", "settle", evidence{stored: true}},
		{"settle:after-broadcast", "settle", evidence{stored: true, chainDone: true}},
		{"settle:after-mined", "settle", evidence{stored: true, chainDone: true, sent: true}},
		{"settle:before-db-update", "settle", evidence{stored: true, chainDone: true, sent: true}},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.crashAt, ":", "_"), func(t *testing.T) {
			t.Parallel()
			a := startAnvil(t)
			w := newWorld(t, a.url())
			w.seedAgents(3)
			// 150 receipts: three batches of at most 60.
			w.exchange(0, 1, 50)
			w.exchange(1, 2, 50)
			w.exchange(2, 0, 50)
			env := w.env(a.url())

			p := start(t, "crashing", env, tc.crashAt)
			ws := p.waitExit(60 * time.Second)
			point := tc.crashAt[strings.Index(tc.crashAt, ":")+1:]
			if !ws.Signaled() || ws.Signal() != syscall.SIGKILL || !strings.Contains(p.Out.String(), "failpoint "+point) {
				t.Fatalf("chainwriter ended with %v, want SIGKILL by failpoint %s", ws, point)
			}

			// What the crash left behind.
			f := w.firstTx(tc.kind)
			var onChain bool
			if tc.kind == "register" {
				onChain = w.registeredOnChain(0)
				if n := w.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`); n != 0 {
					t.Errorf("%d agents confirmed in the database before any registration was recorded", n)
				}
			} else {
				onChain = w.lastBatchID() == 1
				if n := w.count(`SELECT count(*) FROM receipt_batches`); n != 1 {
					t.Errorf("%d batches recorded at the crash, want 1", n)
				}
				if n := w.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`); n != 0 {
					t.Errorf("%d batches recorded settled at the crash, want 0", n)
				}
			}
			got := evidence{chainDone: onChain, stored: f.found, sent: f.sent}
			if got != tc.want {
				t.Errorf("after the crash: %+v, want %+v", got, tc.want)
			}
			if f.found && (f.state != "pending" || f.attempt != 1) {
				t.Errorf("crashed tx: state %s with %d versions, want pending with 1", f.state, f.attempt)
			}
			t.Logf("at the crash: %s tx stored=%v sent=%v hash=%s; on chain=%v", tc.kind, f.found, f.sent, f.hash, onChain)

			// More traffic while the writer is down, then a clean run.
			w.exchange(0, 2, 30)
			p2 := start(t, "restarted", env, "")
			w.waitAllSettled(p2, 60*time.Second)
			p2.stop()
			w.checkExactlyOnce()

			// The stored version was rebroadcast (or recognised as
			// included), never replaced by a new signature.
			if f.found {
				after := w.firstTx(tc.kind)
				if after.hash != f.hash || after.attempt != 1 || after.state != "confirmed" {
					t.Errorf("crashed tx after restart: %+v; want the same single version %s confirmed", after, f.hash)
				}
				var mined []byte
				w.pool.QueryRow(context.Background(), `SELECT mined_hash FROM chainwriter_txs WHERE kind = $1 ORDER BY nonce LIMIT 1`, tc.kind).Scan(&mined)
				if common.BytesToHash(mined) != f.hash {
					t.Errorf("included %x, stored before the crash %s", mined, f.hash)
				}
			}
			if n := w.count(`SELECT count(*) FROM chainwriter_txs WHERE state <> 'confirmed'`); n != 0 {
				t.Errorf("%d transactions not confirmed (failed or dropped): nothing should have been wasted", n)
			}
		})
	}
}
