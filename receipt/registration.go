package receipt

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Timestamp sentinel errors.
var (
	// ErrExpired reports a timestamp more than the allowed window in the past.
	ErrExpired = errors.New("receipt: timestamp expired")
	// ErrFutureTimestamp reports a timestamp more than the allowed window in the
	// future.
	ErrFutureTimestamp = errors.New("receipt: timestamp in the future")
)

// RegistrationMessage returns the text an agent personal_signs to register with the
// tracker of domain d. The format is fixed, five lines joined by "\n" with no
// trailing newline, addresses in EIP-55 checksum form, numbers in decimal:
//
//	PBTS agent registration
//	chain: 31337
//	tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3
//	agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
//	timestamp: 1708387200
func RegistrationMessage(d Domain, agent common.Address, ts uint64) string {
	return agentMessage("PBTS agent registration", d, agent, ts)
}

// SignRegistration signs the registration message of the key's address for domain
// d at unix time ts.
func SignRegistration(d Domain, ts uint64, key *ecdsa.PrivateKey) (Signature, error) {
	return signAgentMessage(RegistrationMessage, d, ts, key)
}

// VerifyRegistration checks a registration: ts must be within window of now
// (CheckTimestamp, checked first because it is cheap) and sig must be agent's
// personal_sign of RegistrationMessage(d, agent, ts).
func VerifyRegistration(d Domain, agent common.Address, ts uint64, sig []byte, now time.Time, window time.Duration) error {
	return verifyAgentMessage(RegistrationMessage, d, agent, ts, sig, now, window)
}

// InvitationMessage returns the text an inviter personal_signs to invite
// invitee to the tracker of domain d: six lines, as RegistrationMessage's:
//
//	PBTS agent invitation
//	chain: 31337
//	tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3
//	inviter: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
//	invitee: 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
//	timestamp: 1708387200
//
// It binds the invitee: an invitation cannot be spent on another address.
func InvitationMessage(d Domain, inviter, invitee common.Address, ts uint64) string {
	b := make([]byte, 0, 220)
	b = append(b, "PBTS agent invitation\nchain: "...)
	b = strconv.AppendUint(b, d.ChainID, 10)
	b = append(b, "\ntracker: "...)
	b = append(b, d.Tracker.Hex()...)
	b = append(b, "\ninviter: "...)
	b = append(b, inviter.Hex()...)
	b = append(b, "\ninvitee: "...)
	b = append(b, invitee.Hex()...)
	b = append(b, "\ntimestamp: "...)
	b = strconv.AppendUint(b, ts, 10)
	return string(b)
}

// SignInvitation signs the key's invitation of invitee.
func SignInvitation(d Domain, invitee common.Address, ts uint64, key *ecdsa.PrivateKey) (Signature, error) {
	if key == nil || key.D == nil {
		return Signature{}, ErrNilKey
	}
	return SignText(InvitationMessage(d, crypto.PubkeyToAddress(key.PublicKey), invitee, ts), key)
}

// VerifyInvitation checks an invitation: ts within window of now, and sig
// inviter's personal_sign of InvitationMessage.
func VerifyInvitation(d Domain, inviter, invitee common.Address, ts uint64, sig []byte, now time.Time, window time.Duration) error {
	if err := CheckTimestamp(ts, now, window); err != nil {
		return err
	}
	return VerifyText(InvitationMessage(d, inviter, invitee, ts), inviter, sig)
}

// SwarmViewMessage returns the text an agent personal_signs to see the
// peers of a swarm it is in (GetSwarm):
//
//	PBTS swarm view
//	chain: 31337
//	tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3
//	agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
//	info hash: 0x<40 hex>
//	timestamp: 1708387200
func SwarmViewMessage(d Domain, agent common.Address, ih [20]byte, ts uint64) string {
	b := []byte(agentMessage("PBTS swarm view", d, agent, ts))
	i := len(b) - len("\ntimestamp: ") - len(strconv.FormatUint(ts, 10))
	tail := append([]byte(nil), b[i:]...)
	b = append(b[:i], "\ninfo hash: 0x"...)
	b = append(b, hex.EncodeToString(ih[:])...)
	return string(append(b, tail...))
}

// SignSwarmView signs the key's swarm view request of ih.
func SignSwarmView(d Domain, ih [20]byte, ts uint64, key *ecdsa.PrivateKey) (Signature, error) {
	if key == nil || key.D == nil {
		return Signature{}, ErrNilKey
	}
	return SignText(SwarmViewMessage(d, crypto.PubkeyToAddress(key.PublicKey), ih, ts), key)
}

// VerifySwarmView checks a swarm view request: ts within window of now and
// sig agent's personal_sign of SwarmViewMessage.
func VerifySwarmView(d Domain, agent common.Address, ih [20]byte, ts uint64, sig []byte, now time.Time, window time.Duration) error {
	if err := CheckTimestamp(ts, now, window); err != nil {
		return err
	}
	return VerifyText(SwarmViewMessage(d, agent, ih, ts), agent, sig)
}

// agentMessage is the five-line form registration and rotation share: a
// title, then chain, tracker, agent and timestamp.
func agentMessage(title string, d Domain, agent common.Address, ts uint64) string {
	b := make([]byte, 0, 160)
	b = append(b, title...)
	b = append(b, "\nchain: "...)
	b = strconv.AppendUint(b, d.ChainID, 10)
	b = append(b, "\ntracker: "...)
	b = append(b, d.Tracker.Hex()...)
	b = append(b, "\nagent: "...)
	b = append(b, agent.Hex()...)
	b = append(b, "\ntimestamp: "...)
	b = strconv.AppendUint(b, ts, 10)
	return string(b)
}

func signAgentMessage(msg func(Domain, common.Address, uint64) string, d Domain, ts uint64, key *ecdsa.PrivateKey) (Signature, error) {
	if key == nil || key.D == nil {
		return Signature{}, ErrNilKey
	}
	return SignText(msg(d, crypto.PubkeyToAddress(key.PublicKey), ts), key)
}

func verifyAgentMessage(msg func(Domain, common.Address, uint64) string, d Domain, agent common.Address, ts uint64, sig []byte, now time.Time, window time.Duration) error {
	if err := CheckTimestamp(ts, now, window); err != nil {
		return err
	}
	return VerifyText(msg(d, agent, ts), agent, sig)
}

// CheckTimestamp checks |now - ts| <= window at one-second resolution (now is
// truncated to whole seconds, a negative window counts as zero). It returns an
// error wrapping ErrExpired or ErrFutureTimestamp. The receipts service uses it for
// receipt timestamps too.
func CheckTimestamp(ts uint64, now time.Time, window time.Duration) error {
	w := uint64(max(window, 0) / time.Second)
	n := now.Unix()
	// Differences are taken in uint64: for a > b (as int64) a-b fits in a uint64.
	switch t := int64(ts); {
	case ts > math.MaxInt64 || t > n && uint64(t)-uint64(n) > w:
		return fmt.Errorf("%w: %d is more than %ds after %d", ErrFutureTimestamp, ts, w, n)
	case t < n && uint64(n)-uint64(t) > w:
		return fmt.Errorf("%w: %d is more than %ds before %d", ErrExpired, ts, w, n)
	}
	return nil
}
