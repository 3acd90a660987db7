package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/chain"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// chainwriterHealth is the chainwriter's health service name: SERVING only
// on the leader, while it settles.
const chainwriterHealth = "pbts.v1.ChainwriterService"

// replica is one chainwriter process and its clients (dialled without
// waiting for SERVING: a standby never is).
type replica struct {
	*service
	health healthpb.HealthClient
	status pbtsv1.ChainwriterServiceClient
}

func newReplica(t *testing.T, s *service) *replica {
	t.Helper()
	c, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &replica{service: s, health: healthpb.NewHealthClient(c), status: pbtsv1.NewChainwriterServiceClient(c)}
}

// serving is the replica's health under chainwriterHealth (UNKNOWN when it
// does not answer).
func (r *replica) serving(ctx context.Context) healthpb.HealthCheckResponse_ServingStatus {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	h, err := r.health.Check(cctx, &healthpb.HealthCheckRequest{Service: chainwriterHealth})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return h.Status
}

// chainwriterEnv is the PBTS_* settings s.Writer runs with, without those
// start gives every process its own of (listeners, address file).
func chainwriterEnv(s *stack) map[string]string {
	env := map[string]string{}
	for _, kv := range s.Writer.Cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case !strings.HasPrefix(k, "PBTS_"), k == "PBTS_ADDR_FILE", k == "PBTS_GRPC_ADDR", k == "PBTS_METRICS_ADDR":
		default:
			env[k] = v
		}
	}
	return env
}

// TestLeaderFailover: two chainwriter processes on one Postgres and one
// chain. Exactly one is SERVING (the leader, holding the advisory lock), the
// other NOT_SERVING and writing nothing, though it answers GetChainStatus.
// Receipts settle; the leader is SIGKILLed once it has recorded the batch
// of more receipts (its settle in flight or just included); the standby takes over
// within seconds, settles those and the receipts submitted after the kill,
// and every receipt's bytes count once on chain: the contract's figures are
// the initial credit plus the accepted receipts, exactly, once nothing is in
// flight any more. A restarted old leader stands by.
func TestLeaderFailover(t *testing.T) {
	const (
		credit = 4 * MiB
		plen   = 256 * KiB
		pieces = 16 // the leecher may vouch for 2 × 4 MiB = 32 pieces
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, credit)
	env := chainwriterEnv(s)
	if env["PBTS_CHAINWRITER_KEY"] == "" || env["PBTS_DATABASE_URL"] == "" {
		t.Fatal("the stack's chainwriter settings lack the key or the database")
	}
	replicas := []*replica{newReplica(t, s.Writer), newReplica(t, start(t, "chainwriter", env))}

	// Exactly one leads.
	var lead, standby *replica
	waitUntil(t, ctx, "one chainwriter SERVING, the other NOT_SERVING", func() bool {
		a, b := replicas[0].serving(ctx), replicas[1].serving(ctx)
		switch {
		case a == healthpb.HealthCheckResponse_SERVING && b == healthpb.HealthCheckResponse_NOT_SERVING:
			lead, standby = replicas[0], replicas[1]
		case b == healthpb.HealthCheckResponse_SERVING && a == healthpb.HealthCheckResponse_NOT_SERVING:
			lead, standby = replicas[1], replicas[0]
		default:
			return false
		}
		return true
	})
	t.Logf("leader: %s (pid %d), standby pid %d", lead.GRPCAddr, lead.Cmd.Process.Pid, standby.Cmd.Process.Pid)
	if !strings.Contains(lead.Out.String(), "leader: acquired") {
		t.Errorf("the leader's log has no \"leader: acquired\":\n%s", tailString(lead.Out.String(), 3000))
	}
	waitUntil(t, ctx, "the standby's log to say it waits", func() bool {
		return strings.Contains(standby.Out.String(), "leader: waiting (another chainwriter holds the lock)")
	})
	// The standby's read-only API answers, naming why it does not settle.
	st, err := standby.status.GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
	if err != nil || !strings.HasPrefix(st.Problem, "standby") {
		t.Errorf("standby's GetChainStatus: %v, %v; want an answer with a standby problem", st, err)
	}

	seeder, leecher := s.register(t), s.register(t)
	mi, sums, _ := dataset(t, t.TempDir(), "failover.bin", pieces*plen, 31)
	ih := s.publish(t, seeder, mi, sums, "failover", pbtsv1.Modality_MODALITY_VIDEO, nil)
	if v := announceAs(t, s.Announce, seeder.Passkey, ih, "-PB0001-lfseed000000", 0); v["failure reason"] != nil {
		t.Fatalf("seeder announce: %v", v)
	}
	if v := announceAs(t, s.Announce, leecher.Passkey, ih, "-PB0001-lfleech00000", pieces*plen); v["failure reason"] != nil {
		t.Fatalf("leecher announce: %v", v)
	}
	submit := func(from, to int) {
		t.Helper()
		submitAccepted(t, ctx, s, fmt.Sprintf("receipts %d..%d", from, to), signedReceipts(t, s, ih, sums, plen, seeder, leecher, from, to))
	}
	onChain := func() (up, down uint64) {
		u, err1 := chain.ReadReputation(ctx, s.Chain.Client, s.Deploy.Tracker, gethcommon.HexToAddress(seeder.Address()))
		d, err2 := chain.ReadReputation(ctx, s.Chain.Client, s.Deploy.Tracker, gethcommon.HexToAddress(leecher.Address()))
		if err1 != nil || err2 != nil {
			return 0, 0
		}
		return u.Upload, d.Download
	}
	settled := func(what string, n int) {
		t.Helper()
		waitUntil(t, ctx, what, func() bool {
			up, down := onChain()
			if up > credit+uint64(n)*plen || down > uint64(n)*plen {
				t.Fatalf("%s: on chain the seeder uploaded %d and the leecher downloaded %d: more than the %d receipts' %d bytes",
					what, up-credit, down, n, uint64(n)*plen)
			}
			return up == credit+uint64(n)*plen && down == uint64(n)*plen
		})
	}

	submit(0, 6)
	settled("the first receipts settled by the leader", 6)
	if st := standby.serving(ctx); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("standby health %v while the leader settles", st)
	}

	// More receipts, then the leader dies mid-work: once it has recorded
	// their batch (its settle signed, sent, maybe mined, not yet recorded as
	// confirmed, or just confirmed: whatever the moment, the standby must
	// count them once).
	submit(6, 10)
	waitUntil(t, ctx, "the leader to record the second batch", func() bool {
		st, err := lead.status.GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
		return err == nil && st.LastBatchId >= 2
	})
	lead.Kill()
	killed := time.Now()
	waitUntil(t, ctx, "the standby SERVING", func() bool { return standby.serving(ctx) == healthpb.HealthCheckResponse_SERVING })
	failover := time.Since(killed)
	t.Logf("failover: the standby was SERVING %v after the leader was SIGKILLed", failover.Round(time.Millisecond))
	if failover > 30*time.Second {
		t.Errorf("failover took %v", failover)
	}
	if !strings.Contains(standby.Out.String(), "leader: acquired") {
		t.Errorf("the new leader's log has no \"leader: acquired\":\n%s", tailString(standby.Out.String(), 3000))
	}

	submit(10, pieces)
	settled("every receipt settled by the new leader", pieces)
	// Nothing left that could still land and count twice: no transaction in
	// flight, no receipt pending, the database's batches all on chain.
	waitUntil(t, ctx, "nothing in flight", func() bool {
		st, err := standby.status.GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
		return err == nil && len(st.InFlight) == 0 && st.PendingReceipts == 0 &&
			st.LastBatchIdOnChain == st.LastBatchId && st.LastSettledBatchId == st.LastBatchId
	})
	if up, down := onChain(); up != credit+pieces*plen || down != pieces*plen {
		t.Fatalf("on chain: seeder uploaded %d, leecher downloaded %d; want %d each (every receipt once)", up-credit, down, pieces*plen)
	}
	var total uint64
	list, err := standby.status.ListBatches(ctx, &pbtsv1.ListBatchesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list.Batches {
		total += b.TotalBytes
	}
	if total != pieces*plen {
		t.Errorf("the batches hold %d bytes, want %d", total, pieces*plen)
	}
	t.Logf("%d batches, %d receipts' bytes once on chain", len(list.Batches), pieces)

	// The old leader, restarted, stands by.
	back := newReplica(t, start(t, "chainwriter", env))
	waitUntil(t, ctx, "the restarted chainwriter to stand by", func() bool {
		return strings.Contains(back.Out.String(), "leader: waiting (another chainwriter holds the lock)") &&
			back.serving(ctx) == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if st := standby.serving(ctx); st != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("the leader's health %v once another replica started", st)
	}
}
