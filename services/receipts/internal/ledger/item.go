// Package ledger is the receipts service's Postgres store: it reserves each
// receipt's canonical key, bounds the bytes credited per piece, keeps the
// per-agent pending totals and answers the read RPCs. The schema is
// database/migrations/00003_receipts.sql.
package ledger

import (
	"fmt"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// Item is one submitted receipt on its way through the verifier and the
// ledger. Status stays UNSPECIFIED while no check has decided it.
type Item struct {
	Receipt receipt.Receipt
	// Sig is the normalised signature (low s, v in {27, 28}).
	Sig receipt.Signature
	// Parsed reports that every field parsed, so Receipt is complete; the
	// verifier then sets Digest.
	Parsed bool
	Digest [32]byte
	// PieceLen is the length of the receipt's piece, set by the verifier.
	PieceLen uint32

	Status pbtsv1.ReceiptStatus
	Reason pbtsv1.RefusalReason
	Detail string
}

// Undecided reports whether no check has refused (or accepted) the item yet.
func (it *Item) Undecided() bool { return it.Status == pbtsv1.ReceiptStatus_RECEIPT_STATUS_UNSPECIFIED }

// Refuse records a refusal.
func (it *Item) Refuse(reason pbtsv1.RefusalReason, format string, args ...any) {
	it.Status = pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED
	it.Reason = reason
	it.Detail = fmt.Sprintf(format, args...)
}

// MarkDuplicate records that the same receipt is already in the ledger.
func (it *Item) MarkDuplicate() {
	it.Status = pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE
	it.Reason, it.Detail = 0, ""
}

// pieceKeyLen is the length of a piece download's key: receipt.Key's first
// 56 bytes (info hash, receiver, piece index).
const pieceKeyLen = 56

type pieceKey [pieceKeyLen]byte

func pieceOf(k *receipt.Key) pieceKey { return pieceKey(k[:pieceKeyLen]) }
