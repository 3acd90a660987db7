// Package verifier runs the DESIGN.md step-6 checks that do not need the
// ledger's transaction: field syntax, the timestamp window, the EIP-191
// signature (recovered in parallel on a worker pool sized to the cores), and
// the catalog checks (registration, swarm membership, piece index, hash and
// length) against cached tracker tables. The ledger then decides duplicates
// and the per-piece byte bound atomically.
package verifier

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// Parse turns the request's receipts into items. A receipt with a field that
// does not parse (or a zero address or size) is refused MALFORMED with a
// detail naming the field; a malformed signature encoding (v, r/s range, high
// s) is refused BAD_SIGNATURE and one naming its receiver as sender
// SELF_RECEIPT. Byte values, not their spelling, are kept: hex case and v in
// {0, 1} or {27, 28} do not matter.
func Parse(in []*pbtsv1.Receipt) []ledger.Item {
	items := make([]ledger.Item, len(in))
	// A batch names few agents: checking an EIP-55 checksum costs a keccak,
	// so each distinct spelling is parsed once.
	addrs := make(map[string]common.Address)
	for i, m := range in {
		parse(&items[i], m, addrs)
	}
	return items
}

func parseAddress(s string, memo map[string]common.Address) (common.Address, error) {
	if a, ok := memo[s]; ok {
		return a, nil
	}
	a, err := receipt.ParseAddress(s)
	if err == nil {
		memo[s] = a
	}
	return a, err
}

const malformed = pbtsv1.RefusalReason_REFUSAL_REASON_MALFORMED

// fieldError is a parse error's text without the package prefix.
func fieldError(err error) string { return strings.TrimPrefix(err.Error(), "receipt: ") }

func parse(it *ledger.Item, m *pbtsv1.Receipt, addrs map[string]common.Address) {
	if m == nil {
		it.Refuse(malformed, "info_hash: required (nil receipt)")
		return
	}
	for _, f := range [...]struct{ name, v string }{
		{"info_hash", m.GetInfoHash()}, {"sender", m.GetSender()}, {"receiver", m.GetReceiver()},
		{"piece_hash", m.GetPieceHash()}, {"signature", m.GetSignature()},
	} {
		if f.v == "" {
			it.Refuse(malformed, "%s: required", f.name)
			return
		}
	}
	var err error
	r := &it.Receipt
	if r.InfoHash, err = receipt.ParseBytes32(m.GetInfoHash()); err != nil {
		it.Refuse(malformed, "info_hash: %s", fieldError(err))
		return
	}
	if r.Sender, err = parseAddress(m.GetSender(), addrs); err != nil {
		it.Refuse(malformed, "sender: %s", fieldError(err))
		return
	}
	if r.Receiver, err = parseAddress(m.GetReceiver(), addrs); err != nil {
		it.Refuse(malformed, "receiver: %s", fieldError(err))
		return
	}
	if r.PieceHash, err = receipt.ParseBytes32(m.GetPieceHash()); err != nil {
		it.Refuse(malformed, "piece_hash: %s", fieldError(err))
		return
	}
	r.PieceIndex, r.PieceSize, r.Timestamp = m.GetPieceIndex(), m.GetPieceSize(), m.GetTimestamp()
	switch {
	case r.Sender == common.Address{}:
		it.Refuse(malformed, "sender: zero address")
		return
	case r.Receiver == common.Address{}:
		it.Refuse(malformed, "receiver: zero address")
		return
	case r.PieceSize == 0:
		it.Refuse(malformed, "piece_size: zero")
		return
	}
	sig, err := receipt.ParseSignature(m.GetSignature())
	if errors.Is(err, receipt.ErrBadHex) {
		it.Refuse(malformed, "signature: %s", fieldError(err))
		return
	}
	// From here on the receipt is complete: its digest can be computed.
	it.Parsed = true
	if err != nil {
		it.Refuse(pbtsv1.RefusalReason_REFUSAL_REASON_BAD_SIGNATURE, "signature: %s", fieldError(err))
		return
	}
	it.Sig = sig
	if r.Sender == r.Receiver {
		it.Refuse(pbtsv1.RefusalReason_REFUSAL_REASON_SELF_RECEIPT, "sender and receiver are both %s", r.Sender.Hex())
	}
}

// FirstMalformed returns the index of the first item refused MALFORMED and
// whether every item is, which makes the request itself invalid.
func FirstMalformed(items []ledger.Item) (first int, all bool) {
	first = -1
	all = len(items) > 0
	for i := range items {
		if items[i].Reason == malformed {
			if first < 0 {
				first = i
			}
		} else {
			all = false
		}
	}
	return first, all
}

// Path prefixes a detail with the receipt's position in the request.
func Path(i int, detail string) string { return fmt.Sprintf("receipts[%d].%s", i, detail) }
