// Package seed writes what the tracker and the receipts service would write
// (registered agents, accepted receipts with their pending totals) straight
// into Postgres, for the chainwriter's tests and benchmark. Receipts are real:
// digests from receipt.Digest, signatures from receipt.Sign.
package seed

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/receipt"
)

// Agents inserts agents as the tracker registers them: pending on chain.
// Existing agents are left alone.
func Agents(ctx context.Context, pool *pgxpool.Pool, addrs ...common.Address) error {
	now := time.Now().Unix()
	for _, a := range addrs {
		passkey := make([]byte, 32)
		rand.Read(passkey)
		sig := make([]byte, 65)
		if _, err := pool.Exec(ctx, `INSERT INTO agents (address, passkey_hash, reg_timestamp, reg_signature, auth_timestamp)
			VALUES ($1, $2, $3, $4, $3) ON CONFLICT (address) DO NOTHING`, a[:], passkey, now, sig); err != nil {
			return fmt.Errorf("seed agent %s: %w", a, err)
		}
	}
	return nil
}

// Signed is a receipt with its digest and signature.
type Signed struct {
	R      receipt.Receipt
	Digest [32]byte
	Sig    receipt.Signature
}

// Transfer signs n receipts for pieces first..first+n-1 of a torrent that
// sender uploaded to the receiver (who signs), each of pieceSize bytes.
func Transfer(d receipt.Domain, infoHash [32]byte, sender common.Address, receiver *ecdsa.PrivateKey, first, n int, pieceSize uint32) ([]Signed, error) {
	out := make([]Signed, 0, n)
	recv := crypto.PubkeyToAddress(receiver.PublicKey)
	ts := uint64(time.Now().Unix())
	for i := first; i < first+n; i++ {
		var idx [4]byte
		binary.BigEndian.PutUint32(idx[:], uint32(i))
		r := receipt.Receipt{
			InfoHash: infoHash, Sender: sender, Receiver: recv,
			PieceHash:  sha256.Sum256(append(infoHash[:], idx[:]...)),
			PieceIndex: uint32(i), PieceSize: pieceSize, Timestamp: ts,
		}
		sig, err := receipt.Sign(d, r, receiver)
		if err != nil {
			return nil, err
		}
		out = append(out, Signed{R: r, Digest: receipt.Digest(d, r), Sig: sig})
	}
	return out, nil
}

// Insert stores receipts as the receipts service accepts them (accepted now,
// pending) and adds their bytes to pending_totals, in one transaction.
func Insert(ctx context.Context, pool *pgxpool.Pool, rs []Signed) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	var (
		digests, infos, receivers, senders, hashes, sigs = make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		idx, sizes, ts                                   = make([]int64, n), make([]int64, n), make([]int64, n)
	)
	type tot struct{ up, down, n int64 }
	totals := map[common.Address]*tot{}
	add := func(a common.Address) *tot {
		t := totals[a]
		if t == nil {
			t = &tot{}
			totals[a] = t
		}
		return t
	}
	for i := range rs {
		r := &rs[i]
		digests[i], infos[i], receivers[i], senders[i] = r.Digest[:], r.R.InfoHash[:], r.R.Receiver[:], r.R.Sender[:]
		hashes[i], sigs[i] = r.R.PieceHash[:], r.Sig[:]
		idx[i], sizes[i], ts[i] = int64(r.R.PieceIndex), int64(r.R.PieceSize), int64(r.R.Timestamp)
		s := add(r.R.Sender)
		s.up += int64(r.R.PieceSize)
		s.n++
		v := add(r.R.Receiver)
		v.down += int64(r.R.PieceSize)
		v.n++
	}
	agents := make([]common.Address, 0, len(totals))
	for a := range totals {
		agents = append(agents, a)
	}
	sort.Slice(agents, func(i, j int) bool { return string(agents[i][:]) < string(agents[j][:]) })
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO receipts (digest, info_hash, receiver, piece_index, sender, piece_hash,
				piece_size, signed_ts, signature, accepted_at)
			SELECT d, i, rc, pi, s, ph, ps, st, sg, clock_timestamp()
			  FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bytea[], $6::bytea[], $7::bigint[],
			              $8::bigint[], $9::bytea[]) AS u(d, i, rc, pi, s, ph, ps, st, sg)`,
			digests, infos, receivers, idx, senders, hashes, sizes, ts, sigs); err != nil {
			return fmt.Errorf("insert receipts: %w", err)
		}
		for _, a := range agents {
			t := totals[a]
			if _, err := tx.Exec(ctx, `INSERT INTO pending_totals (agent, upload_bytes, download_bytes, receipt_count)
				VALUES ($1, $2, $3, $4) ON CONFLICT (agent) DO UPDATE SET
				upload_bytes = pending_totals.upload_bytes + EXCLUDED.upload_bytes,
				download_bytes = pending_totals.download_bytes + EXCLUDED.download_bytes,
				receipt_count = pending_totals.receipt_count + EXCLUDED.receipt_count`,
				a[:], t.up, t.down, t.n); err != nil {
				return fmt.Errorf("pending totals: %w", err)
			}
		}
		return nil
	})
}

// Totals are the bytes of an agent's accepted receipts.
type Totals struct{ Upload, Download uint64 }

// AcceptedTotals sums every accepted receipt per agent (settled or not).
func AcceptedTotals(ctx context.Context, pool *pgxpool.Pool) (map[common.Address]Totals, error) {
	rows, err := pool.Query(ctx, `SELECT agent, sum(up)::bigint, sum(down)::bigint FROM (
		SELECT sender AS agent, piece_size AS up, 0 AS down FROM receipts
		UNION ALL SELECT receiver, 0, piece_size FROM receipts) d GROUP BY agent`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[common.Address]Totals{}
	for rows.Next() {
		var (
			a        []byte
			up, down int64
		)
		if err := rows.Scan(&a, &up, &down); err != nil {
			return nil, err
		}
		out[common.BytesToAddress(a)] = Totals{Upload: uint64(up), Download: uint64(down)}
	}
	return out, rows.Err()
}
