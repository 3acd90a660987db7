// Package wire is what PBTS agents say to each other inside a BitTorrent
// connection, over two BEP 10 extensions: pbts_receipts carries signed
// receipts from a downloader to the agent whose bytes they acknowledge, and
// pbts_auth is the challenge and answer by which an uploader learns which
// agent is downloading from it. It only encodes and decodes; the
// withholding gate and the downloader's attribution decide what to send.
package wire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	pp "github.com/anacrolix/torrent/peer_protocol"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// ReceiptsExtension is the BEP 10 extension that carries signed receipts
// from a downloader to the agent whose bytes they acknowledge. The payload
// is 1 to MaxReceipts fixed-size records:
//
//	info_hash(32) sender(20) receiver(20) piece_hash(32)
//	piece_index(4, big-endian) piece_size(4) timestamp(8) signature(65)
const ReceiptsExtension pp.ExtensionName = "pbts_receipts"

const (
	// ReceiptLen is the size of one record of a receipts message.
	ReceiptLen = 32 + 20 + 20 + 32 + 4 + 4 + 8 + receipt.SignatureLength
	// MaxReceipts is the most records one receipts message may hold.
	MaxReceipts = 64
)

// AuthExtension is the BEP 10 extension on which an uploader proves who is
// downloading from it: it sends a challenge,
//
//	0x01 nonce(16)
//
// and the downloader answers with its signature (receipt.SignPeerAuth) of
// the nonce, the info hash, the challenger's peer id and its own:
//
//	0x02 nonce(16) signature(65)
const AuthExtension pp.ExtensionName = "pbts_auth"

// The kinds of pbts_auth message.
const (
	AuthChallenge byte = 1
	AuthAnswer    byte = 2
)

// EncodeChallenge is the pbts_auth challenge with nonce.
func EncodeChallenge(nonce [16]byte) []byte {
	return append([]byte{AuthChallenge}, nonce[:]...)
}

// EncodeAnswer is the pbts_auth answer to the challenge nonce.
func EncodeAnswer(nonce [16]byte, sig receipt.Signature) []byte {
	b := append([]byte{AuthAnswer}, nonce[:]...)
	return append(b, sig[:]...)
}

// DecodeAuth reads a pbts_auth message: a challenge (kind AuthChallenge,
// sig zero) or an answer (AuthAnswer).
func DecodeAuth(b []byte) (kind byte, nonce [16]byte, sig receipt.Signature, err error) {
	switch {
	case len(b) == 17 && b[0] == AuthChallenge:
	case len(b) == 17+receipt.SignatureLength && b[0] == AuthAnswer:
		copy(sig[:], b[17:])
	default:
		return 0, nonce, sig, fmt.Errorf("pbts_auth message of %d bytes: want a challenge (17) or an answer (%d)", len(b), 17+receipt.SignatureLength)
	}
	copy(nonce[:], b[1:17])
	return b[0], nonce, sig, nil
}

// SignedReceipt is a receipt with its receiver's signature.
type SignedReceipt struct {
	Receipt   receipt.Receipt
	Signature receipt.Signature
}

// Proto is the receipts service's form of the receipt.
func (s *SignedReceipt) Proto() *pbtsv1.Receipt {
	r := &s.Receipt
	return &pbtsv1.Receipt{
		InfoHash: "0x" + hex.EncodeToString(r.InfoHash[:]), Sender: r.Sender.Hex(), Receiver: r.Receiver.Hex(),
		PieceHash: "0x" + hex.EncodeToString(r.PieceHash[:]), PieceIndex: r.PieceIndex, PieceSize: r.PieceSize,
		Timestamp: r.Timestamp, Signature: s.Signature.Hex(),
	}
}

// EncodeReceipts packs up to MaxReceipts receipts into one receipts message.
func EncodeReceipts(rs []SignedReceipt) []byte {
	b := make([]byte, 0, len(rs)*ReceiptLen)
	for i := range rs {
		r := &rs[i].Receipt
		b = append(b, r.InfoHash[:]...)
		b = append(b, r.Sender[:]...)
		b = append(b, r.Receiver[:]...)
		b = append(b, r.PieceHash[:]...)
		b = binary.BigEndian.AppendUint32(b, r.PieceIndex)
		b = binary.BigEndian.AppendUint32(b, r.PieceSize)
		b = binary.BigEndian.AppendUint64(b, r.Timestamp)
		b = append(b, rs[i].Signature[:]...)
	}
	return b
}

// DecodeReceipts unpacks a receipts message; anything but a whole number of
// records, 1 to MaxReceipts of them, is refused. Signatures are not checked.
func DecodeReceipts(b []byte) ([]SignedReceipt, error) {
	if len(b) == 0 || len(b)%ReceiptLen != 0 || len(b)/ReceiptLen > MaxReceipts {
		return nil, fmt.Errorf("receipts message of %d bytes: want 1 to %d records of %d bytes", len(b), MaxReceipts, ReceiptLen)
	}
	out := make([]SignedReceipt, len(b)/ReceiptLen)
	for i := range out {
		p := b[i*ReceiptLen:]
		r := &out[i].Receipt
		p = p[copy(r.InfoHash[:], p):]
		p = p[copy(r.Sender[:], p):]
		p = p[copy(r.Receiver[:], p):]
		p = p[copy(r.PieceHash[:], p):]
		r.PieceIndex = binary.BigEndian.Uint32(p)
		r.PieceSize = binary.BigEndian.Uint32(p[4:])
		r.Timestamp = binary.BigEndian.Uint64(p[8:])
		copy(out[i].Signature[:], p[16:])
	}
	return out, nil
}
