package verifier

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

func validProto() *pbtsv1.Receipt {
	return &pbtsv1.Receipt{
		InfoHash:   "0x" + strings.Repeat("ab", 20) + strings.Repeat("00", 12),
		Sender:     "0x" + strings.Repeat("11", 20),
		Receiver:   "0x" + strings.Repeat("22", 20),
		PieceHash:  "0x" + strings.Repeat("cd", 32),
		PieceIndex: 3,
		PieceSize:  100,
		Timestamp:  1,
		Signature:  "0x" + strings.Repeat("01", 64) + "1b",
	}
}

func TestParse(t *testing.T) {
	mal := pbtsv1.RefusalReason_REFUSAL_REASON_MALFORMED
	for _, tc := range []struct {
		name   string
		edit   func(*pbtsv1.Receipt)
		reason pbtsv1.RefusalReason
		detail string
		parsed bool
	}{
		{"valid", func(*pbtsv1.Receipt) {}, 0, "", true},
		{"upper-case hex", func(r *pbtsv1.Receipt) { r.InfoHash = "0x" + strings.ToUpper(r.InfoHash[2:]) }, 0, "", true},
		{"v as recovery id", func(r *pbtsv1.Receipt) { r.Signature = r.Signature[:130] + "00" }, 0, "", true},
		{"nil", nil, mal, "info_hash: required", false},
		{"empty info hash", func(r *pbtsv1.Receipt) { r.InfoHash = "" }, mal, "info_hash: required", false},
		{"0X prefix", func(r *pbtsv1.Receipt) { r.Sender = "0X" + r.Sender[2:] }, mal, "sender: bad hex", false},
		{"long receiver", func(r *pbtsv1.Receipt) { r.Receiver += "00" }, mal, "receiver: bad hex", false},
		{"space", func(r *pbtsv1.Receipt) { r.PieceHash = " " + r.PieceHash[1:] }, mal, "piece_hash", false},
		{"zero receiver", func(r *pbtsv1.Receipt) { r.Receiver = "0x" + strings.Repeat("0", 40) }, mal, "receiver: zero address", false},
		{"zero size", func(r *pbtsv1.Receipt) { r.PieceSize = 0 }, mal, "piece_size: zero", false},
		{"signature hex", func(r *pbtsv1.Receipt) { r.Signature = r.Signature[:131] }, mal, "signature: bad hex", false},
		{"signature v", func(r *pbtsv1.Receipt) { r.Signature = r.Signature[:130] + "1d" }, pbtsv1.RefusalReason_REFUSAL_REASON_BAD_SIGNATURE, "signature", true},
		{"signature zero r", func(r *pbtsv1.Receipt) {
			r.Signature = "0x" + strings.Repeat("00", 32) + strings.Repeat("01", 32) + "1b"
		}, pbtsv1.RefusalReason_REFUSAL_REASON_BAD_SIGNATURE, "range", true},
		{"self", func(r *pbtsv1.Receipt) { r.Receiver = r.Sender }, pbtsv1.RefusalReason_REFUSAL_REASON_SELF_RECEIPT, "both", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in *pbtsv1.Receipt
			if tc.edit != nil {
				in = validProto()
				tc.edit(in)
			}
			it := Parse([]*pbtsv1.Receipt{in})[0]
			if it.Reason != tc.reason || !strings.HasPrefix(it.Detail, tc.detail) && !strings.Contains(it.Detail, tc.detail) || it.Parsed != tc.parsed {
				t.Errorf("reason %v detail %q parsed %v; want %v, %q, %v", it.Reason, it.Detail, it.Parsed, tc.reason, tc.detail, tc.parsed)
			}
			if tc.reason == 0 && (it.Sig[64] != 27 || it.Receipt.PieceIndex != 3) {
				t.Errorf("parsed receipt = %+v", it)
			}
		})
	}
}

func TestFirstMalformed(t *testing.T) {
	bad := validProto()
	bad.Sender = "x"
	items := Parse([]*pbtsv1.Receipt{validProto(), bad, bad})
	if first, all := FirstMalformed(items); first != 1 || all {
		t.Errorf("mixed: %d %v, want 1 false", first, all)
	}
	if first, all := FirstMalformed(items[1:]); first != 0 || !all {
		t.Errorf("all bad: %d %v, want 0 true", first, all)
	}
}

func TestRecoverDigest(t *testing.T) {
	dom := receipt.Domain{ChainID: 5, Tracker: common.Address{9}}
	k := crypto.NewKeccakState()
	for i := range 20 {
		key, _ := crypto.GenerateKey()
		r := receipt.Receipt{Sender: common.Address{1}, Receiver: crypto.PubkeyToAddress(key.PublicKey), PieceIndex: uint32(i), PieceSize: 7}
		sig, err := receipt.Sign(dom, r, key)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 { // a signature of other content: a meaningless address
			r.PieceSize++
		}
		want, werr := receipt.Recover(dom, r, sig[:])
		d := receipt.Digest(dom, r)
		got, err := recoverDigest(&d, &sig, k)
		if got != want || (err == nil) != (werr == nil) {
			t.Errorf("recoverDigest = %v, %v; receipt.Recover = %v, %v", got, err, want, werr)
		}
	}
}
