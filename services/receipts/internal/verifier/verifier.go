package verifier

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// Config configures a Verifier.
type Config struct {
	Domain receipt.Domain
	// Window is the largest accepted distance between a receipt's timestamp
	// and the server's clock.
	Window time.Duration
	// Workers is the number of signature-recovery goroutines (GOMAXPROCS when
	// zero): ecrecover is CPU-bound, so more than the cores only adds
	// switching.
	Workers int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// ErrClosed is returned by Check after Close.
var ErrClosed = errors.New("verifier: closed")

// chunk is how many receipts one worker job recovers: about 1.5 ms of work,
// small enough to share a batch across the workers, large enough to make
// the hand-off cost nothing.
const chunk = 32

type job struct {
	v     *Verifier
	items []ledger.Item
	wg    *sync.WaitGroup
}

// Verifier checks receipts. It is safe for concurrent use; the recovery pool
// is shared by all requests.
type Verifier struct {
	cfg   Config
	cache *Cache
	jobs  chan job
	// recovered counts signature recoveries (ecrecover calls).
	recovered atomic.Uint64

	mu     sync.RWMutex // held shared by Check, exclusively by Close
	closed bool
}

// New starts the worker pool.
func New(cfg Config, cache *Cache) *Verifier {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, cache: cache, jobs: make(chan job, 1024)}
	for range cfg.Workers {
		go work(v.jobs)
	}
	return v
}

func work(jobs <-chan job) {
	k := crypto.NewKeccakState()
	for j := range jobs {
		j.v.recoverAll(j.items, k)
		j.wg.Done()
	}
}

// Close waits for running checks and stops the workers.
func (v *Verifier) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.closed {
		v.closed = true
		close(v.jobs)
	}
}

// recoverAll computes the digests of parsed items and checks the signatures
// of the undecided ones.
func (v *Verifier) recoverAll(items []ledger.Item, k crypto.KeccakState) {
	for i := range items {
		it := &items[i]
		if !it.Parsed {
			continue
		}
		it.Digest = receipt.Digest(v.cfg.Domain, it.Receipt)
		if !it.Undecided() {
			continue
		}
		v.recovered.Add(1)
		signer, err := recoverDigest(&it.Digest, &it.Sig, k)
		switch {
		case err != nil:
			it.Refuse(pbtsv1.RefusalReason_REFUSAL_REASON_BAD_SIGNATURE, "signature: %s", fieldError(err))
		case signer != it.Receipt.Receiver:
			it.Refuse(pbtsv1.RefusalReason_REFUSAL_REASON_SIGNER_NOT_RECEIVER,
				"signature recovers to %s, not the receiver %s (wrong key, domain or field values)", signer.Hex(), it.Receipt.Receiver.Hex())
		}
	}
}

// recoverDigest is receipt.Recover for a digest already computed and a
// signature already normalised by receipt.ParseSignature (which Parse
// applied): it saves hashing the receipt twice. TestRecoverDigest holds it
// to receipt.Recover.
func recoverDigest(digest *[32]byte, sig *receipt.Signature, k crypto.KeccakState) (common.Address, error) {
	h := receipt.PersonalHash(*digest)
	raw := *sig
	raw[64] -= 27
	pub, err := crypto.Ecrecover(h[:], raw[:])
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", receipt.ErrBadSignature, err)
	}
	if len(pub) != 65 || pub[0] != 4 {
		return common.Address{}, fmt.Errorf("%w: unexpected public key encoding", receipt.ErrBadSignature)
	}
	var sum [32]byte
	k.Reset()
	k.Write(pub[1:])
	k.Read(sum[:])
	return common.Address(sum[12:]), nil
}

// Recoveries is the number of signatures recovered so far (the costly
// step: everything else is there to spare it).
func (v *Verifier) Recoveries() uint64 { return v.recovered.Load() }

// Precheck runs the checks that are cheaper than a signature recovery, so
// that garbage costs none: the timestamp window, receiver and sender
// registration, torrent, piece index, piece hash and piece size, refusing
// the undecided items that fail with the reason of the first failed check
// in that order. Registration and the catalog are public (the tracker's API
// serves both), so answering them for an unsigned receipt tells nothing;
// swarm membership is not public (CheckSwarm, after the signature). The
// catalog answers come from the cache, negative ones included (CacheLimits).
func (v *Verifier) Precheck(ctx context.Context, src Source, items []ledger.Item) error {
	now := v.cfg.Now()
	for i := range items {
		it := &items[i]
		if it.Undecided() {
			if err := receipt.CheckTimestamp(it.Receipt.Timestamp, now, v.cfg.Window); err != nil {
				it.Refuse(pbtsv1.RefusalReason_REFUSAL_REASON_TIMESTAMP_OUT_OF_WINDOW, "timestamp: %s", fieldError(err))
			}
		}
	}
	return v.checkCatalog(ctx, src, items, now)
}

// Recover computes the digest of every parsed item and recovers the
// signatures of the undecided ones on the worker pool, refusing those that
// do not recover to the receiver.
func (v *Verifier) Recover(ctx context.Context, items []ledger.Item) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.closed {
		return ErrClosed
	}
	return v.recoverParallel(ctx, items)
}

func (v *Verifier) recoverParallel(ctx context.Context, items []ledger.Item) error {
	var wg sync.WaitGroup
	var err error
	for lo := 0; lo < len(items); lo += chunk {
		hi := min(lo+chunk, len(items))
		wg.Add(1)
		select {
		case v.jobs <- job{v: v, items: items[lo:hi], wg: &wg}:
		case <-ctx.Done():
			wg.Done()
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	wg.Wait()
	return err
}

func v1(ih *[32]byte) ([20]byte, bool) {
	if [12]byte(ih[20:]) != ([12]byte{}) {
		return [20]byte{}, false
	}
	return [20]byte(ih[:20]), true
}

func (v *Verifier) checkCatalog(ctx context.Context, src Source, items []ledger.Item, now time.Time) error {
	const (
		unregSender   = pbtsv1.RefusalReason_REFUSAL_REASON_SENDER_UNREGISTERED
		unregReceiver = pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_UNREGISTERED
		unknown       = pbtsv1.RefusalReason_REFUSAL_REASON_UNKNOWN_TORRENT
		outOfRange    = pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OUT_OF_RANGE
		badHash       = pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_HASH_MISMATCH
		overcredited  = pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OVERCREDITED
	)
	// Registration.
	agents := make(map[common.Address]bool)
	for i := range items {
		if it := &items[i]; it.Undecided() {
			agents[it.Receipt.Sender] = false
			agents[it.Receipt.Receiver] = false
		}
	}
	if len(agents) == 0 {
		return nil
	}
	if err := v.cache.lookupAgents(ctx, src, agents, now); err != nil {
		return err
	}
	datasets := make(map[[20]byte]*ledger.Dataset)
	for i := range items {
		it := &items[i]
		if !it.Undecided() {
			continue
		}
		r := &it.Receipt
		switch {
		case !agents[r.Receiver]:
			it.Refuse(unregReceiver, "receiver %s is not a registered agent", r.Receiver.Hex())
		case !agents[r.Sender]:
			it.Refuse(unregSender, "sender %s is not a registered agent", r.Sender.Hex())
		default:
			if ih, ok := v1(&r.InfoHash); ok {
				datasets[ih] = nil
			} else {
				it.Refuse(unknown, "info hash 0x%x is not a catalogued (v1) torrent", r.InfoHash)
			}
		}
	}

	// The torrent and its piece.
	if len(datasets) == 0 {
		return nil
	}
	if err := v.cache.lookupDatasets(ctx, src, datasets, now); err != nil {
		return err
	}
	for i := range items {
		it := &items[i]
		if !it.Undecided() {
			continue
		}
		r := &it.Receipt
		ih, _ := v1(&r.InfoHash)
		d := datasets[ih]
		switch {
		case d == nil:
			it.Refuse(unknown, "info hash 0x%x is not in the catalog", ih)
		case r.PieceIndex >= d.PieceCount:
			it.Refuse(outOfRange, "piece_index %d: the torrent has %d pieces", r.PieceIndex, d.PieceCount)
		case r.PieceHash != d.PieceHash(r.PieceIndex):
			it.Refuse(badHash, "piece_hash of piece %d is not the published SHA-256 0x%x", r.PieceIndex, d.PieceHash(r.PieceIndex))
		case r.PieceSize > d.PieceLen(r.PieceIndex):
			it.Refuse(overcredited, "piece_size %d exceeds the length of piece %d (%d bytes)", r.PieceSize, r.PieceIndex, d.PieceLen(r.PieceIndex))
		default:
			it.PieceLen = d.PieceLen(r.PieceIndex)
		}
	}
	return nil
}

// CheckSwarm refuses the undecided items whose receiver, then sender, was
// never in the torrent's swarm. It runs after Recover: who is in a swarm is
// told only to its members, so only the receiver's key may ask.
func (v *Verifier) CheckSwarm(ctx context.Context, src Source, items []ledger.Item) error {
	const notInSwarm = pbtsv1.RefusalReason_REFUSAL_REASON_NOT_IN_SWARM
	members := make(map[ledger.Member]bool)
	for i := range items {
		if it := &items[i]; it.Undecided() {
			ih, _ := v1(&it.Receipt.InfoHash) // a v1 hash: Precheck refused the others
			members[ledger.Member{InfoHash: ih, Agent: it.Receipt.Receiver}] = false
			members[ledger.Member{InfoHash: ih, Agent: it.Receipt.Sender}] = false
		}
	}
	if len(members) == 0 {
		return nil
	}
	if err := v.cache.lookupMembers(ctx, src, members); err != nil {
		return err
	}
	for i := range items {
		it := &items[i]
		if !it.Undecided() {
			continue
		}
		r := &it.Receipt
		ih, _ := v1(&r.InfoHash)
		switch {
		case !members[ledger.Member{InfoHash: ih, Agent: r.Receiver}]:
			it.Refuse(notInSwarm, "receiver %s was never in the swarm of 0x%x", r.Receiver.Hex(), ih)
		case !members[ledger.Member{InfoHash: ih, Agent: r.Sender}]:
			it.Refuse(notInSwarm, "sender %s was never in the swarm of 0x%x", r.Sender.Hex(), ih)
		}
	}
	return nil
}
