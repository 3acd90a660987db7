package receipt

import (
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// PublishMessage returns the text a publisher personal_signs to catalog a
// dataset at the tracker of domain d. The format is fixed, eight lines joined
// by "\n" with no trailing newline; addresses in EIP-55 checksum form, hashes
// as 0x + lowercase hex, numbers in decimal:
//
//	PBTS dataset publication
//	chain: 31337
//	tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3
//	publisher: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
//	infohash: 0x<40 hex: the v1 (SHA-1) info hash>
//	pieces: 0x<64 hex: PiecesDigest of the piece SHA-256s>
//	metadata: 0x<64 hex: MetadataDigest of the catalog metadata>
//	timestamp: 1708387200
//
// The info hash commits to the torrent (and so to the SHA-1 of every piece),
// pieces to the published SHA-256 of every piece, metadata to name,
// description, modality, tags and license.
func PublishMessage(d Domain, publisher common.Address, infoHash [20]byte, piecesDigest, metaDigest [32]byte, ts uint64) string {
	b := make([]byte, 0, 420)
	b = append(b, "PBTS dataset publication\nchain: "...)
	b = strconv.AppendUint(b, d.ChainID, 10)
	b = append(b, "\ntracker: "...)
	b = append(b, d.Tracker.Hex()...)
	b = append(b, "\npublisher: "...)
	b = append(b, publisher.Hex()...)
	b = append(b, "\ninfohash: 0x"...)
	b = hex.AppendEncode(b, infoHash[:])
	b = append(b, "\npieces: 0x"...)
	b = hex.AppendEncode(b, piecesDigest[:])
	b = append(b, "\nmetadata: 0x"...)
	b = hex.AppendEncode(b, metaDigest[:])
	b = append(b, "\ntimestamp: "...)
	b = strconv.AppendUint(b, ts, 10)
	return string(b)
}

// PiecesDigest returns keccak256 of the concatenated SHA-256 of every piece, in
// piece order (32 bytes per piece), as PublishDatasetRequest.piece_sha256
// carries them.
func PiecesDigest(pieceSHA256 []byte) [32]byte {
	return crypto.Keccak256Hash(pieceSHA256)
}

// MetadataDigest returns the digest of a dataset's catalog metadata that
// PublishMessage commits to: keccak256 of the fields in this order, each
// encoded as its byte length (8 bytes, big-endian) followed by its UTF-8 bytes,
// with the tags preceded by their count (8 bytes, big-endian) and kept in the
// given order:
//
//	len(name) name  len(description) description  len(modality) modality
//	count(tags) { len(tag) tag }…  len(license) license
//
// modality is the lowercase name of the medium ("video" or "audio"). Every
// field being length-prefixed, no two different metadata encode alike.
func MetadataDigest(name, description, modality string, tags []string, license string) [32]byte {
	n := 8*5 + len(name) + len(description) + len(modality) + len(license)
	for _, t := range tags {
		n += 8 + len(t)
	}
	b := make([]byte, 0, n)
	field := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	field(name)
	field(description)
	field(modality)
	b = binary.BigEndian.AppendUint64(b, uint64(len(tags)))
	for _, t := range tags {
		field(t)
	}
	field(license)
	return crypto.Keccak256Hash(b)
}

// SignPublication signs the publish message of the key's address for domain d.
func SignPublication(d Domain, infoHash [20]byte, piecesDigest, metaDigest [32]byte, ts uint64, key *ecdsa.PrivateKey) (Signature, error) {
	if key == nil || key.D == nil {
		return Signature{}, ErrNilKey
	}
	return SignText(PublishMessage(d, crypto.PubkeyToAddress(key.PublicKey), infoHash, piecesDigest, metaDigest, ts), key)
}

// VerifyPublication checks a publication: ts must be within window of now
// (CheckTimestamp) and sig must be publisher's personal_sign of
// PublishMessage(d, publisher, infoHash, piecesDigest, metaDigest, ts).
func VerifyPublication(d Domain, publisher common.Address, infoHash [20]byte, piecesDigest, metaDigest [32]byte, ts uint64, sig []byte, now time.Time, window time.Duration) error {
	if err := CheckTimestamp(ts, now, window); err != nil {
		return err
	}
	return VerifyText(PublishMessage(d, publisher, infoHash, piecesDigest, metaDigest, ts), publisher, sig)
}

// RotationMessage returns the text an agent personal_signs to replace its
// passkey at the tracker of domain d. The format is fixed, five lines joined by
// "\n" with no trailing newline, like RegistrationMessage with another title:
//
//	PBTS passkey rotation
//	chain: 31337
//	tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3
//	agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
//	timestamp: 1708387200
//
// The tracker accepts a rotation only with a timestamp newer than every one the
// agent used before, so a captured rotation message cannot be replayed.
func RotationMessage(d Domain, agent common.Address, ts uint64) string {
	return agentMessage("PBTS passkey rotation", d, agent, ts)
}

// SignRotation signs the rotation message of the key's address for domain d.
func SignRotation(d Domain, ts uint64, key *ecdsa.PrivateKey) (Signature, error) {
	return signAgentMessage(RotationMessage, d, ts, key)
}

// VerifyRotation checks a rotation: ts must be within window of now
// (CheckTimestamp) and sig must be agent's personal_sign of
// RotationMessage(d, agent, ts). Whether ts is newer than the agent's last
// one is the registry's check.
func VerifyRotation(d Domain, agent common.Address, ts uint64, sig []byte, now time.Time, window time.Duration) error {
	return verifyAgentMessage(RotationMessage, d, agent, ts, sig, now, window)
}
