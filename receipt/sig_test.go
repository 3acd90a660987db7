package receipt

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// highS returns the malleable twin of a canonical signature: (r, n-s, v^1). It is
// a valid ECDSA signature of the same hash by the same key.
func highS(sig Signature) Signature {
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(crypto.S256().Params().N, s)
	out := sig
	s.FillBytes(out[32:64])
	out[64] = 27 + ((sig[64] - 27) ^ 1)
	return out
}

func TestHighSRejected(t *testing.T) {
	_, vs := loadShared(t)
	for i, v := range vs {
		twin := highS(v.sig)
		// Prove the twin is a real signature by the receiver: raw ecrecover accepts it.
		raw := twin
		raw[64] -= 27
		h := PersonalHash(v.digest)
		pub, err := crypto.SigToPub(h[:], raw[:])
		if err != nil || crypto.PubkeyToAddress(*pub) != v.r.Receiver {
			t.Fatalf("receipt %d: the high-s twin should recover to the receiver with raw ecrecover (%v)", i, err)
		}
		for _, s := range []Signature{twin, raw} {
			if err := Verify(v.domain, v.r, s[:]); !errors.Is(err, ErrHighS) || !errors.Is(err, ErrBadSignature) {
				t.Errorf("receipt %d: Verify(high s, v=%d) = %v, want ErrHighS", i, s[64], err)
			}
		}
	}
}

func TestSignatureFormat(t *testing.T) {
	_, vs := loadShared(t)
	v := vs[0]
	good := v.sig
	with := func(f func(*Signature)) []byte { s := good; f(&s); return s[:] }
	n := crypto.S256().Params().N
	halfN := new(big.Int).Rsh(n, 1)
	cases := []struct {
		name string
		sig  []byte
		want error
	}{
		{"nil", nil, ErrSignatureLength},
		{"64 bytes", good[:64], ErrSignatureLength},
		{"66 bytes", append(good[:], 0), ErrSignatureLength},
		{"v=2", with(func(s *Signature) { s[64] = 2 }), ErrRecoveryID},
		{"v=26", with(func(s *Signature) { s[64] = 26 }), ErrRecoveryID},
		{"v=29", with(func(s *Signature) { s[64] = 29 }), ErrRecoveryID},
		{"v=37 (EIP-155 style)", with(func(s *Signature) { s[64] = 37 }), ErrRecoveryID},
		{"r=0", with(func(s *Signature) { clear(s[:32]) }), ErrSignatureRange},
		{"s=0", with(func(s *Signature) { clear(s[32:64]) }), ErrSignatureRange},
		{"r=n", with(func(s *Signature) { n.FillBytes(s[:32]) }), ErrSignatureRange},
		{"s=n", with(func(s *Signature) { n.FillBytes(s[32:64]) }), ErrSignatureRange},
		{"s=n/2+1", with(func(s *Signature) { new(big.Int).Add(halfN, big.NewInt(1)).FillBytes(s[32:64]) }), ErrHighS},
		{"r=0xff..", with(func(s *Signature) {
			for i := range 32 {
				s[i] = 0xff
			}
		}), ErrSignatureRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NormalizeSignature(tc.sig); !errors.Is(err, tc.want) {
				t.Errorf("NormalizeSignature = %v, want %v", err, tc.want)
			}
			_, err := Recover(v.domain, v.r, tc.sig)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrBadSignature) {
				t.Errorf("Recover = %v, want %v", err, tc.want)
			}
			if err := Verify(v.domain, v.r, tc.sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify = %v, want ErrBadSignature", err)
			}
		})
	}
	// s = n/2 exactly is the largest accepted s.
	s := good
	halfN.FillBytes(s[32:64])
	if _, err := NormalizeSignature(s[:]); err != nil {
		t.Errorf("s = n/2: %v", err)
	}
	// v in {0, 1} is normalised to {27, 28}; the input is not modified.
	raw := good
	raw[64] -= 27
	in := raw
	got, err := NormalizeSignature(in[:])
	if err != nil || got != good || in != raw {
		t.Errorf("NormalizeSignature(v=%d) = %s, %v; want %s", raw[64], got, err, good)
	}
}

// TestUnrecoverable: an r that is a valid scalar but not the x coordinate of any
// curve point cannot be recovered.
func TestUnrecoverable(t *testing.T) {
	_, vs := loadShared(t)
	v := vs[0]
	// x = 5 is not on secp256k1 (5^3+7 = 132 is not a square mod p), scanned below
	// to be safe.
	p := crypto.S256().Params().P
	for x := int64(1); x < 100; x++ {
		rhs := new(big.Int).Exp(big.NewInt(x), big.NewInt(3), p)
		rhs.Add(rhs, big.NewInt(7)).Mod(rhs, p)
		if new(big.Int).ModSqrt(rhs, p) != nil {
			continue
		}
		sig := v.sig
		clear(sig[:32])
		sig[31] = byte(x)
		_, err := Recover(v.domain, v.r, sig[:])
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("r=%d (not on the curve): Recover = %v, want ErrBadSignature", x, err)
		}
		return
	}
	t.Fatal("no x off the curve found")
}

func TestPersonalHash(t *testing.T) {
	_, vs := loadShared(t)
	d := vs[0].digest
	want := crypto.Keccak256Hash([]byte("\x19Ethereum Signed Message:\n32"), d[:])
	if got := PersonalHash(d); got != want {
		t.Fatalf("PersonalHash = %x, want %x", got, want)
	}
	if got := TextHash(d[:]); got != want {
		t.Fatalf("TextHash(32 bytes) = %x, want PersonalHash %x", got, want)
	}
}

// Registration vector: cast 1.7.1,
//
//	cast wallet sign --private-key <keys[1]> "$(RegistrationMessage)"
//	cast hash-message "$(RegistrationMessage)"
const (
	castRegistrationSig  = "0x9d11b1b88402a903be91c449d960f3044a41b8d3d3c1a2421a9e31cd737c5ffb54fc3e86b5f081d9369d15473ec2e746a29af5a44fc0412a025f7da91715acd71c"
	castRegistrationHash = "0x5fc265ffe2f2f81360ba2154012f802c772ff0d50fe3b1beb155b0b35b963e8b"
	castHelloSig         = "0x76930d64d2e5eb4b3f4572ce806eda50e1e2329d51d9ca5a713a9befcb9d20883e3d4885c3c5eaf775fc8c9fcf4882a28b582b427bc0270565f3294d935549221b"
)

func TestRegistrationMessage(t *testing.T) {
	d := Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3")}
	agent := common.HexToAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")
	want := "PBTS agent registration\n" +
		"chain: 31337\n" +
		"tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\n" +
		"agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n" +
		"timestamp: 1708387200"
	if got := RegistrationMessage(d, agent, 1708387200); got != want {
		t.Fatalf("RegistrationMessage =\n%s\nwant\n%s", got, want)
	}
	if got := TextHash([]byte(want)); got != b32(t, castRegistrationHash) {
		t.Fatalf("TextHash = %x, want cast's %s", got, castRegistrationHash)
	}
}

func TestRegistration(t *testing.T) {
	_, vs := loadShared(t)
	key := vs[0].key // receiver 0x7099…
	agent := crypto.PubkeyToAddress(key.PublicKey)
	d := vs[0].domain
	const ts = 1708387200
	now := time.Unix(ts, 0)
	sig := must(SignRegistration(d, ts, key))
	if sig.Hex() != castRegistrationSig {
		t.Fatalf("SignRegistration = %s, want cast's %s", sig, castRegistrationSig)
	}
	const window = 5 * time.Minute
	other := vs[0].senderKey
	otherSig := must(SignRegistration(d, ts, other))
	cases := []struct {
		name  string
		d     Domain
		agent common.Address
		ts    uint64
		sig   []byte
		now   time.Time
		want  error
	}{
		{"ok", d, agent, ts, sig[:], now, nil},
		{"ok at window end", d, agent, ts, sig[:], now.Add(window), nil},
		{"ok at window start", d, agent, ts, sig[:], now.Add(-window), nil},
		{"ok sub-second later", d, agent, ts, sig[:], now.Add(window + 999*time.Millisecond), nil},
		{"expired", d, agent, ts, sig[:], now.Add(window + time.Second), ErrExpired},
		{"future", d, agent, ts, sig[:], now.Add(-window - time.Second), ErrFutureTimestamp},
		{"other timestamp", d, agent, ts + 1, sig[:], now, ErrWrongSigner},
		{"other chain", Domain{ChainID: 1, Tracker: d.Tracker}, agent, ts, sig[:], now, ErrWrongSigner},
		{"other tracker", Domain{ChainID: d.ChainID, Tracker: vs[0].r.Sender}, agent, ts, sig[:], now, ErrWrongSigner},
		{"someone else's signature", d, agent, ts, otherSig[:], now, ErrWrongSigner},
		{"claims another agent", d, crypto.PubkeyToAddress(other.PublicKey), ts, sig[:], now, ErrWrongSigner},
		{"short signature", d, agent, ts, sig[:64], now, ErrSignatureLength},
		{"high s", d, agent, ts, func() []byte { s := highS(sig); return s[:] }(), now, ErrHighS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyRegistration(tc.d, tc.agent, tc.ts, tc.sig, tc.now, window)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("VerifyRegistration = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := SignRegistration(d, ts, nil); !errors.Is(err, ErrNilKey) {
		t.Fatalf("SignRegistration(nil) = %v", err)
	}
}

func TestSignText(t *testing.T) {
	_, vs := loadShared(t)
	key := vs[0].key
	agent := crypto.PubkeyToAddress(key.PublicKey)
	sig := must(SignText("hello", key))
	if sig.Hex() != castHelloSig {
		t.Fatalf("SignText(hello) = %s, want cast's %s", sig, castHelloSig)
	}
	if got := must(RecoverText("hello", sig[:])); got != agent {
		t.Fatalf("RecoverText = %s, want %s", got, agent)
	}
	if err := VerifyText("hello", agent, sig[:]); err != nil {
		t.Fatal(err)
	}
	if err := VerifyText("hello!", agent, sig[:]); !errors.Is(err, ErrWrongSigner) {
		t.Fatalf("VerifyText(other text) = %v", err)
	}
	// Messages of different lengths get different prefixes ("...:\n5" vs ":\n0").
	empty := must(SignText("", key))
	if err := VerifyText("", agent, empty[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := SignText("x", nil); !errors.Is(err, ErrNilKey) {
		t.Fatal(err)
	}
}

func TestCheckTimestamp(t *testing.T) {
	const ts = 1_000_000
	now := time.Unix(ts, 0)
	cases := []struct {
		name   string
		ts     uint64
		now    time.Time
		window time.Duration
		want   error
	}{
		{"equal", ts, now, 0, nil},
		{"equal, negative window", ts, now, -time.Hour, nil},
		{"1s late, 0 window", ts, now.Add(time.Second), 0, ErrExpired},
		{"1s early, 0 window", ts, now.Add(-time.Second), 0, ErrFutureTimestamp},
		{"half second later is the same second", ts, now.Add(500 * time.Millisecond), 0, nil},
		{"window edge past", ts - 60, now, time.Minute, nil},
		{"beyond window past", ts - 61, now, time.Minute, ErrExpired},
		{"window edge future", ts + 60, now, time.Minute, nil},
		{"beyond window future", ts + 61, now, time.Minute, ErrFutureTimestamp},
		{"zero timestamp", 0, now, time.Minute, ErrExpired},
		{"max uint64", 1<<64 - 1, now, time.Minute, ErrFutureTimestamp},
		{"max int64", 1<<63 - 1, now, time.Minute, ErrFutureTimestamp},
		{"huge window", 0, now, 1<<63 - 1, nil},
		{"clock before 1970", 1<<62 + 1, time.Unix(-1<<62, 0), time.Hour, ErrFutureTimestamp},
		{"max int64 with max window from the distant past", 1<<63 - 1, time.Unix(-1<<62, 0), 1<<63 - 1, ErrFutureTimestamp},
	}
	for _, tc := range cases {
		err := CheckTimestamp(tc.ts, tc.now, tc.window)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: CheckTimestamp = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// An invitation verifies for the invitee it names and no other, from the
// inviter only, within its window.
func TestInvitation(t *testing.T) {
	d := Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	inviter, _ := crypto.GenerateKey()
	from := crypto.PubkeyToAddress(inviter.PublicKey)
	invitee := common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	other := common.HexToAddress("0x90F79bf6EB2c4f870365E785982E1f101E93b906")
	now := time.Unix(1_708_387_200, 0)
	sig, err := SignInvitation(d, invitee, uint64(now.Unix()), inviter)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyInvitation(d, from, invitee, uint64(now.Unix()), sig[:], now, time.Minute); err != nil {
		t.Fatalf("valid invitation: %v", err)
	}
	if err := VerifyInvitation(d, from, other, uint64(now.Unix()), sig[:], now, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("spent on another address: %v", err)
	}
	if err := VerifyInvitation(d, invitee, invitee, uint64(now.Unix()), sig[:], now, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("claimed by another inviter: %v", err)
	}
	if err := VerifyInvitation(d, from, invitee, uint64(now.Unix()), sig[:], now.Add(time.Hour), time.Minute); !errors.Is(err, ErrExpired) {
		t.Errorf("stale: %v", err)
	}
	if m := InvitationMessage(d, from, invitee, 7); !strings.HasPrefix(m, "PBTS agent invitation\nchain: 31337\ntracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\ninviter: ") ||
		!strings.HasSuffix(m, "\ninvitee: 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\ntimestamp: 7") {
		t.Errorf("message %q", m)
	}
}

// A peer-auth answer recovers to its signer for the challenge it answers and
// to someone else for any other nonce, peer id, torrent or domain.
func TestPeerAuth(t *testing.T) {
	d := Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	key, _ := crypto.GenerateKey()
	me := crypto.PubkeyToAddress(key.PublicKey)
	ih, ch, rs := [20]byte{1}, [20]byte{2}, [20]byte{3}
	nonce := [16]byte{4}
	sig, err := SignPeerAuth(d, ih, ch, rs, nonce, key)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := RecoverPeerAuth(d, ih, ch, rs, nonce, sig[:]); err != nil || a != me {
		t.Fatalf("recover: %s, %v; want %s", a, err, me)
	}
	for name, f := range map[string]func() (common.Address, error){
		"nonce":      func() (common.Address, error) { return RecoverPeerAuth(d, ih, ch, rs, [16]byte{5}, sig[:]) },
		"challenger": func() (common.Address, error) { return RecoverPeerAuth(d, ih, rs, rs, nonce, sig[:]) },
		"responder":  func() (common.Address, error) { return RecoverPeerAuth(d, ih, ch, ch, nonce, sig[:]) },
		"info hash":  func() (common.Address, error) { return RecoverPeerAuth(d, [20]byte{9}, ch, rs, nonce, sig[:]) },
		"chain": func() (common.Address, error) {
			return RecoverPeerAuth(Domain{ChainID: 1, Tracker: d.Tracker}, ih, ch, rs, nonce, sig[:])
		},
	} {
		if a, err := f(); err == nil && a == me {
			t.Errorf("another %s recovers to the signer", name)
		}
	}
}

func TestSwarmViewMessage(t *testing.T) {
	d := Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	agent := common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
	ih := [20]byte{0xab, 1}
	want := "PBTS swarm view\nchain: 31337\ntracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\nagent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n" +
		"info hash: 0xab01000000000000000000000000000000000000\ntimestamp: 1708387200"
	if m := SwarmViewMessage(d, agent, ih, 1708387200); m != want {
		t.Fatalf("message:\n%s\nwant:\n%s", m, want)
	}
	key, _ := crypto.GenerateKey()
	now := time.Unix(1708387200, 0)
	sig, _ := SignSwarmView(d, ih, 1708387200, key)
	if err := VerifySwarmView(d, crypto.PubkeyToAddress(key.PublicKey), ih, 1708387200, sig[:], now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := VerifySwarmView(d, crypto.PubkeyToAddress(key.PublicKey), [20]byte{1}, 1708387200, sig[:], now, time.Minute); err == nil {
		t.Fatal("a view of one swarm verified for another")
	}
}
