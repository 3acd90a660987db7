package wire_test

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/wire"
	"github.com/pbts/pbts/receipt"
)

func TestReceiptsRoundTripAndBounds(t *testing.T) {
	key, _ := crypto.GenerateKey()
	d := receipt.Domain{ChainID: 1, Tracker: common.Address{9}}
	var rs []wire.SignedReceipt
	for i := 0; i < 3; i++ {
		r := receipt.Receipt{InfoHash: [32]byte{1}, Sender: common.Address{2}, Receiver: crypto.PubkeyToAddress(key.PublicKey),
			PieceHash: [32]byte{3}, PieceIndex: uint32(i), PieceSize: 1 << 18, Timestamp: 1700000000 + uint64(i)}
		sig, _ := receipt.Sign(d, r, key)
		rs = append(rs, wire.SignedReceipt{Receipt: r, Signature: sig})
	}
	b := wire.EncodeReceipts(rs)
	back, err := wire.DecodeReceipts(b)
	if err != nil || len(back) != 3 {
		t.Fatalf("decode: %v %d", err, len(back))
	}
	for i := range rs {
		if back[i] != rs[i] || receipt.Verify(d, back[i].Receipt, back[i].Signature[:]) != nil {
			t.Fatalf("record %d changed in transit", i)
		}
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], bytes.Repeat(b[:wire.ReceiptLen], wire.MaxReceipts+1)} {
		if _, err := wire.DecodeReceipts(bad); err == nil {
			t.Fatalf("DecodeReceipts accepted %d bytes", len(bad))
		}
	}
}

func TestProtoCarriesEveryField(t *testing.T) {
	sr := wire.SignedReceipt{Receipt: receipt.Receipt{InfoHash: [32]byte{1}, Sender: common.Address{2}, Receiver: common.Address{3},
		PieceHash: [32]byte{4}, PieceIndex: 5, PieceSize: 6, Timestamp: 7}, Signature: receipt.Signature{8}}
	p := sr.Proto()
	if p.GetSender() != sr.Receipt.Sender.Hex() || p.GetReceiver() != sr.Receipt.Receiver.Hex() ||
		p.GetInfoHash() != "0x01"+string(bytes.Repeat([]byte("0"), 62)) ||
		p.GetPieceIndex() != 5 || p.GetPieceSize() != 6 || p.GetTimestamp() != 7 || p.GetSignature() != sr.Signature.Hex() {
		t.Fatalf("proto %v", p)
	}
}

func TestAuthMessagesRoundTripAndBounds(t *testing.T) {
	nonce := [16]byte{1, 2, 3}
	kind, n, sig, err := wire.DecodeAuth(wire.EncodeChallenge(nonce))
	if err != nil || kind != wire.AuthChallenge || n != nonce || sig != (receipt.Signature{}) {
		t.Fatalf("challenge: %d %x %x %v", kind, n, sig, err)
	}
	want := receipt.Signature{9, 8, 7}
	kind, n, sig, err = wire.DecodeAuth(wire.EncodeAnswer(nonce, want))
	if err != nil || kind != wire.AuthAnswer || n != nonce || sig != want {
		t.Fatalf("answer: %d %x %x %v", kind, n, sig, err)
	}
	for _, bad := range [][]byte{nil, {wire.AuthChallenge}, append([]byte{wire.AuthAnswer}, nonce[:]...), append([]byte{3}, nonce[:]...)} {
		if _, _, _, err := wire.DecodeAuth(bad); err == nil {
			t.Fatalf("DecodeAuth accepted %x", bad)
		}
	}
}
