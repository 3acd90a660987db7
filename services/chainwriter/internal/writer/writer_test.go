package writer_test

import (
	"testing"
	"time"
)

func TestRegisterAndSettle(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(3)
	w := e.writer(e.config())
	e.stepUntil(w, "registrations", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 3
	})
	e.exchange(keys[0], keys[1], 0, 100, 1<<18)
	e.exchange(keys[1], keys[2], 0, 50, 1<<18)
	e.exchange(keys[2], keys[0], 0, 25, 1000)
	e.stepUntil(w, "settlement", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id WHERE b.settled_at IS NOT NULL`) == 175
	})
	// What each registration granted is recorded from its AgentRegistered event.
	e.stepUntil(w, "registration bases", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE base_confirmed AND base_upload = $1 AND base_download = 0`, credit) == 3
	})
	e.checkTotals()
	if n := e.count(`SELECT count(*) FROM pending_totals WHERE upload_bytes <> 0 OR download_bytes <> 0 OR receipt_count <> 0`); n != 0 {
		t.Errorf("%d agents keep pending totals after settlement", n)
	}
	if n := e.count(`SELECT count(*) FROM receipt_batches WHERE gas_used IS NULL OR tx_hash IS NULL OR agent_count IS NULL`); n != 0 {
		t.Errorf("%d settled batches lack gas used, tx hash or agent count", n)
	}
}
