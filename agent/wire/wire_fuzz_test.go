package wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/receipt"
)

// fzReceipt builds a receipt whose every field comes from seed bytes.
func fzReceipt(seed byte) SignedReceipt {
	var s SignedReceipt
	r := &s.Receipt
	for i := range r.InfoHash {
		r.InfoHash[i] = seed + byte(i)
		r.PieceHash[i] = ^seed - byte(i)
	}
	r.Sender = common.BytesToAddress(bytes.Repeat([]byte{seed | 1}, 20))
	r.Receiver = common.BytesToAddress(bytes.Repeat([]byte{seed | 2}, 20))
	r.PieceIndex, r.PieceSize, r.Timestamp = uint32(seed)<<8, 1<<18, 1700000000+uint64(seed)
	for i := range s.Signature {
		s.Signature[i] = seed ^ byte(i)
	}
	return s
}

// FuzzDecodeReceipts: any bytes a peer sends on pbts_receipts either are
// refused (exactly when they are not 1 to MaxReceipts whole records) or
// decode to receipts that encode back to the same bytes, whose proto form
// (what is submitted to the receipts service) parses back to the same fields.
func FuzzDecodeReceipts(f *testing.F) {
	one := EncodeReceipts([]SignedReceipt{fzReceipt(7)})
	f.Add(one)
	f.Add(EncodeReceipts([]SignedReceipt{fzReceipt(0), fzReceipt(0xff), fzReceipt(0x80)}))
	max := make([]SignedReceipt, MaxReceipts)
	for i := range max {
		max[i] = fzReceipt(byte(i))
	}
	f.Add(EncodeReceipts(max))
	f.Add(append(EncodeReceipts(max), one...)) // one record too many
	f.Add([]byte{})
	f.Add(one[:ReceiptLen-1])
	f.Add(append(one, 0))
	f.Add(make([]byte, ReceiptLen))
	f.Add(bytes.Repeat([]byte{0xff}, 2*ReceiptLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := DecodeReceipts(b)
		whole := len(b) > 0 && len(b)%ReceiptLen == 0 && len(b)/ReceiptLen <= MaxReceipts
		if err != nil {
			if whole {
				t.Fatalf("refused %d whole records: %v", len(b)/ReceiptLen, err)
			}
			if rs != nil {
				t.Fatal("refusal returned receipts")
			}
			return
		}
		if !whole {
			t.Fatalf("accepted %d bytes, not 1 to %d records of %d", len(b), MaxReceipts, ReceiptLen)
		}
		if len(rs) != len(b)/ReceiptLen {
			t.Fatalf("%d records decoded from %d bytes", len(rs), len(b))
		}
		if enc := EncodeReceipts(rs); !bytes.Equal(enc, b) {
			t.Fatalf("decode then encode changed the bytes:\n in %x\nout %x", b, enc)
		}
		for i := range rs {
			p := b[i*ReceiptLen:]
			if binary.BigEndian.Uint64(p[112:]) != rs[i].Receipt.Timestamp || !bytes.Equal(p[ReceiptLen-receipt.SignatureLength:ReceiptLen], rs[i].Signature[:]) {
				t.Fatalf("record %d: fields not where the layout puts them", i)
			}
			checkProto(t, &rs[i])
		}
	})
}

// checkProto parses a receipt's proto form back as the receipts service
// does and compares every field.
func checkProto(t *testing.T, s *SignedReceipt) {
	t.Helper()
	m := s.Proto()
	ih, err1 := receipt.ParseBytes32(m.GetInfoHash())
	ph, err2 := receipt.ParseBytes32(m.GetPieceHash())
	sender, err3 := receipt.ParseAddress(m.GetSender())
	receiver, err4 := receipt.ParseAddress(m.GetReceiver())
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		t.Fatalf("proto form does not parse: %v %v %v %v", err1, err2, err3, err4)
	}
	r := &s.Receipt
	if ih != r.InfoHash || ph != r.PieceHash || sender != r.Sender || receiver != r.Receiver ||
		m.GetPieceIndex() != r.PieceIndex || m.GetPieceSize() != r.PieceSize || m.GetTimestamp() != r.Timestamp {
		t.Fatalf("proto form %v differs from %+v", m, r)
	}
	if m.GetSignature() != s.Signature.Hex() || len(m.GetSignature()) != 2+2*receipt.SignatureLength {
		t.Fatalf("proto signature %q", m.GetSignature())
	}
}

// FuzzEncodeReceipts: decode(encode(x)) == x for receipts of arbitrary
// field values (n copies with varied fields, 1 to MaxReceipts).
func FuzzEncodeReceipts(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 20), bytes.Repeat([]byte{3}, 20), bytes.Repeat([]byte{4}, 32),
		uint32(0), uint32(1<<18), uint64(1700000000), bytes.Repeat([]byte{5}, 65), uint8(1))
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, ^uint32(0), ^uint32(0), ^uint64(0), []byte{}, uint8(MaxReceipts))
	f.Add([]byte("x"), []byte("y"), []byte("z"), []byte("w"), uint32(7), uint32(0), uint64(0), bytes.Repeat([]byte{0xff}, 70), uint8(200))
	f.Fuzz(func(t *testing.T, ih, sender, receiver, ph []byte, idx, size uint32, ts uint64, sig []byte, n uint8) {
		count := 1 + int(n)%MaxReceipts
		in := make([]SignedReceipt, count)
		for i := range in {
			r := &in[i].Receipt
			copy(r.InfoHash[:], ih)
			copy(r.Sender[:], sender)
			copy(r.Receiver[:], receiver)
			copy(r.PieceHash[:], ph)
			r.InfoHash[31] ^= byte(i)
			r.PieceIndex, r.PieceSize, r.Timestamp = idx+uint32(i), size, ts-uint64(i)
			copy(in[i].Signature[:], sig)
			in[i].Signature[0] ^= byte(i)
		}
		b := EncodeReceipts(in)
		if len(b) != count*ReceiptLen {
			t.Fatalf("%d receipts encoded in %d bytes", count, len(b))
		}
		out, err := DecodeReceipts(b)
		if err != nil {
			t.Fatalf("decode of encoded receipts: %v", err)
		}
		if len(out) != len(in) {
			t.Fatalf("%d receipts back of %d", len(out), len(in))
		}
		for i := range in {
			if out[i] != in[i] {
				t.Fatalf("receipt %d: %+v back as %+v", i, in[i], out[i])
			}
		}
	})
}

// FuzzDecodeAuth: a pbts_auth message is a 17-byte challenge or a 82-byte
// answer; anything else is refused, and what is accepted encodes back to
// the same bytes.
func FuzzDecodeAuth(f *testing.F) {
	var nonce [16]byte
	copy(nonce[:], "0123456789abcdef")
	var sig receipt.Signature
	for i := range sig {
		sig[i] = byte(i)
	}
	f.Add(EncodeChallenge(nonce))
	f.Add(EncodeAnswer(nonce, sig))
	f.Add([]byte{})
	f.Add([]byte{AuthChallenge})
	f.Add(append([]byte{AuthAnswer}, nonce[:]...))                        // an answer without its signature
	f.Add(append([]byte{AuthChallenge}, EncodeAnswer(nonce, sig)[1:]...)) // a challenge of an answer's length
	f.Add(append([]byte{3}, nonce[:]...))
	f.Add(append(EncodeAnswer(nonce, sig), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, n, s, err := DecodeAuth(b)
		challenge := len(b) == 17 && b[0] == AuthChallenge
		answer := len(b) == 17+receipt.SignatureLength && b[0] == AuthAnswer
		if err != nil {
			if challenge || answer {
				t.Fatalf("refused a well-formed message %x: %v", b, err)
			}
			return
		}
		var enc []byte
		switch kind {
		case AuthChallenge:
			if s != (receipt.Signature{}) {
				t.Fatal("a challenge came with a signature")
			}
			enc = EncodeChallenge(n)
		case AuthAnswer:
			enc = EncodeAnswer(n, s)
		default:
			t.Fatalf("accepted kind %d", kind)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("decode then encode changed the message:\n in %x\nout %x", b, enc)
		}
	})
}
