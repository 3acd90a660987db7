package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	pp "github.com/anacrolix/torrent/peer_protocol"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// receiptsExtension is the BEP 10 extension that carries signed receipts
// from a downloader to the agent whose bytes they acknowledge. The payload
// is 1 to wireMaxReceipts fixed-size records:
//
//	info_hash(32) sender(20) receiver(20) piece_hash(32)
//	piece_index(4, big-endian) piece_size(4) timestamp(8) signature(65)
const receiptsExtension pp.ExtensionName = "pbts_receipts"

const (
	wireReceiptLen  = 32 + 20 + 20 + 32 + 4 + 4 + 8 + receipt.SignatureLength
	wireMaxReceipts = 64
)

// authExtension is the BEP 10 extension on which an uploader proves who is
// downloading from it: it sends a challenge,
//
//	0x01 nonce(16)
//
// and the downloader answers with its signature (receipt.SignPeerAuth) of
// the nonce, the info hash, the challenger's peer id and its own:
//
//	0x02 nonce(16) signature(65)
const authExtension pp.ExtensionName = "pbts_auth"

const (
	authChallenge byte = 1
	authAnswerMsg byte = 2
)

// authAnswer is a peer's answer to our challenge, with what it answered on.
type authAnswer struct {
	nonce  [16]byte
	sig    receipt.Signature
	peerID [20]byte // the answering peer's
	ih     [20]byte
}

func encodeChallenge(nonce [16]byte) []byte {
	return append([]byte{authChallenge}, nonce[:]...)
}

func encodeAnswer(nonce [16]byte, sig receipt.Signature) []byte {
	b := append([]byte{authAnswerMsg}, nonce[:]...)
	return append(b, sig[:]...)
}

// decodeAuth reads a pbts_auth message: a challenge (sig zero) or an answer.
func decodeAuth(b []byte) (kind byte, nonce [16]byte, sig receipt.Signature, err error) {
	switch {
	case len(b) == 17 && b[0] == authChallenge:
	case len(b) == 17+receipt.SignatureLength && b[0] == authAnswerMsg:
		copy(sig[:], b[17:])
	default:
		return 0, nonce, sig, fmt.Errorf("pbts_auth message of %d bytes: want a challenge (17) or an answer (%d)", len(b), 17+receipt.SignatureLength)
	}
	copy(nonce[:], b[1:17])
	return b[0], nonce, sig, nil
}

// signedReceipt is a receipt with its receiver's signature.
type signedReceipt struct {
	r   receipt.Receipt
	sig receipt.Signature
}

// proto is the receipts service's form of the receipt.
func (s *signedReceipt) proto() *pbtsv1.Receipt {
	r := &s.r
	return &pbtsv1.Receipt{
		InfoHash: "0x" + hex.EncodeToString(r.InfoHash[:]), Sender: r.Sender.Hex(), Receiver: r.Receiver.Hex(),
		PieceHash: "0x" + hex.EncodeToString(r.PieceHash[:]), PieceIndex: r.PieceIndex, PieceSize: r.PieceSize,
		Timestamp: r.Timestamp, Signature: s.sig.Hex(),
	}
}

// encodeWire packs up to wireMaxReceipts receipts into one extension payload.
func encodeWire(rs []signedReceipt) []byte {
	b := make([]byte, 0, len(rs)*wireReceiptLen)
	for i := range rs {
		r := &rs[i].r
		b = append(b, r.InfoHash[:]...)
		b = append(b, r.Sender[:]...)
		b = append(b, r.Receiver[:]...)
		b = append(b, r.PieceHash[:]...)
		b = binary.BigEndian.AppendUint32(b, r.PieceIndex)
		b = binary.BigEndian.AppendUint32(b, r.PieceSize)
		b = binary.BigEndian.AppendUint64(b, r.Timestamp)
		b = append(b, rs[i].sig[:]...)
	}
	return b
}

// decodeWire unpacks an extension payload; anything but a whole number of
// records, 1 to wireMaxReceipts of them, is refused.
func decodeWire(b []byte) ([]signedReceipt, error) {
	if len(b) == 0 || len(b)%wireReceiptLen != 0 || len(b)/wireReceiptLen > wireMaxReceipts {
		return nil, fmt.Errorf("receipts message of %d bytes: want 1 to %d records of %d bytes", len(b), wireMaxReceipts, wireReceiptLen)
	}
	out := make([]signedReceipt, len(b)/wireReceiptLen)
	for i := range out {
		p := b[i*wireReceiptLen:]
		r := &out[i].r
		p = p[copy(r.InfoHash[:], p):]
		p = p[copy(r.Sender[:], p):]
		p = p[copy(r.Receiver[:], p):]
		p = p[copy(r.PieceHash[:], p):]
		r.PieceIndex = binary.BigEndian.Uint32(p)
		r.PieceSize = binary.BigEndian.Uint32(p[4:])
		r.Timestamp = binary.BigEndian.Uint64(p[8:])
		copy(out[i].sig[:], p[16:])
	}
	return out, nil
}
