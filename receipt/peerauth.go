package receipt

import (
	"crypto/ecdsa"
	"encoding/binary"

	"github.com/ethereum/go-ethereum/common"
)

// PeerAuthDigest is what an agent signs to prove, on one BitTorrent
// connection, that it is the agent behind it: the uploader on that
// connection (the challenger) sends a fresh random nonce and the other side
// (the responder) answers with the EIP-191 personal_sign of
//
//	keccak256("PBTS peer auth v1" || chainId (32, big-endian) || tracker (20) ||
//	          infoHash (20) || challengerPeerID (20) || responderPeerID (20) || nonce (16))
//
// The chain and contract stop its use at another tracker, the info hash and
// both peer ids at another connection, and the nonce (the challenger's, new
// for each connection) any replay: an answer seen on the wire is worth
// nothing on another connection, even one that copies both peer ids.
func PeerAuthDigest(d Domain, ih [20]byte, challenger, responder [20]byte, nonce [16]byte) [32]byte {
	var b [17 + 32 + 20 + 20 + 20 + 20 + 16]byte
	p := append(b[:0], "PBTS peer auth v1"...)
	var chain [32]byte
	binary.BigEndian.PutUint64(chain[24:], d.ChainID)
	p = append(p, chain[:]...)
	p = append(p, d.Tracker[:]...)
	p = append(p, ih[:]...)
	p = append(p, challenger[:]...)
	p = append(p, responder[:]...)
	p = append(p, nonce[:]...)
	h := getHasher()
	out := h.sum(p)
	putHasher(h)
	return out
}

// SignPeerAuth answers a challenge with the key.
func SignPeerAuth(d Domain, ih [20]byte, challenger, responder [20]byte, nonce [16]byte, key *ecdsa.PrivateKey) (Signature, error) {
	h := PersonalHash(PeerAuthDigest(d, ih, challenger, responder, nonce))
	return signHash(&h, key)
}

// RecoverPeerAuth returns the agent that answered the challenge.
func RecoverPeerAuth(d Domain, ih [20]byte, challenger, responder [20]byte, nonce [16]byte, sig []byte) (common.Address, error) {
	h := PersonalHash(PeerAuthDigest(d, ih, challenger, responder, nonce))
	return recoverHash(&h, sig)
}
