package receipt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// EncodedLen is the length of a receipt's ABI encoding: nine 32-byte words.
const EncodedLen = 9 * 32

// KeyLen is the length of a [Key].
const KeyLen = 32 + common.AddressLength + 4 + common.AddressLength

// Domain identifies the ReputationTracker deployment a receipt is valid for. Both
// fields are part of every digest (domain separation).
type Domain struct {
	// ChainID is the EIP-155 chain id (31337 for anvil, 11155111 for Sepolia).
	// Chain ids above 2^64-1 are not supported.
	ChainID uint64
	// Tracker is the address of the ReputationTracker contract.
	Tracker common.Address
}

// Receipt is a downloader's statement that Sender supplied PieceSize bytes of the
// verified piece PieceIndex of the torrent InfoHash to Receiver at Timestamp. It is
// signed by Receiver. Integer fields are uint256 on chain; the Go widths bound them
// to what BitTorrent can produce (piece indices and lengths are 32-bit on the wire).
type Receipt struct {
	// InfoHash is the torrent's info hash: a v1 (SHA-1) hash left-aligned and
	// zero-filled (see InfoHashFromV1), or a v2 (SHA-256) hash.
	InfoHash [32]byte
	// Sender is the agent that uploaded the bytes (credited upload).
	Sender common.Address
	// Receiver is the agent that downloaded them and signs the receipt (debited).
	Receiver common.Address
	// PieceHash is sha256 of the piece data.
	PieceHash [32]byte
	// PieceIndex is the zero-based index of the piece in the torrent.
	PieceIndex uint32
	// PieceSize is the number of bytes of the piece that Sender supplied.
	PieceSize uint32
	// Timestamp is when the receipt was signed, in unix seconds.
	Timestamp uint64
}

// Key is the canonical binary identity of a receipt within one Domain:
// InfoHash(32) || Receiver(20) || PieceIndex(4, big-endian) || Sender(20). Its first
// 56 bytes identify the piece download (infohash, receiver, piece index) over which
// credited bytes are bounded by the piece length; the whole key admits each sender at
// most once per piece. It is comparable and usable as a map key or a bytea column.
type Key [KeyLen]byte

// Sentinel errors returned by Receipt.Validate and Domain.Validate.
var (
	// ErrZeroAddress reports a zero sender or receiver address.
	ErrZeroAddress = errors.New("receipt: zero address")
	// ErrSelfReceipt reports a receipt whose sender is its receiver.
	ErrSelfReceipt = errors.New("receipt: sender equals receiver")
	// ErrZeroSize reports a receipt that credits no bytes.
	ErrZeroSize = errors.New("receipt: zero piece size")
	// ErrInvalidDomain reports a zero chain id or tracker address.
	ErrInvalidDomain = errors.New("receipt: invalid domain")
)

// Validate checks the receipt's self-consistency (non-zero distinct parties, a
// positive size). It does not check the signature or anything that needs the swarm
// or the catalog.
func (r *Receipt) Validate() error {
	switch {
	case r.Sender == (common.Address{}):
		return fmt.Errorf("%w: sender", ErrZeroAddress)
	case r.Receiver == (common.Address{}):
		return fmt.Errorf("%w: receiver", ErrZeroAddress)
	case r.Sender == r.Receiver:
		return ErrSelfReceipt
	case r.PieceSize == 0:
		return ErrZeroSize
	}
	return nil
}

// Validate checks that the domain names a chain and a contract.
func (d Domain) Validate() error {
	if d.ChainID == 0 {
		return fmt.Errorf("%w: chain id is 0", ErrInvalidDomain)
	}
	if d.Tracker == (common.Address{}) {
		return fmt.Errorf("%w: tracker address is zero", ErrInvalidDomain)
	}
	return nil
}

// Key returns the receipt's canonical binary key (see Key).
func (r *Receipt) Key() Key {
	var k Key
	copy(k[0:32], r.InfoHash[:])
	copy(k[32:52], r.Receiver[:])
	binary.BigEndian.PutUint32(k[52:56], r.PieceIndex)
	copy(k[56:76], r.Sender[:])
	return k
}

// InfoHashFromV1 returns the bytes32 form of a BitTorrent v1 (SHA-1) info hash:
// the 20 bytes left-aligned, followed by 12 zero bytes.
func InfoHashFromV1(ih [20]byte) [32]byte {
	var out [32]byte
	copy(out[:], ih[:])
	return out
}

// Encode returns abi.encode(uint256 chainId, address tracker, bytes32 infohash,
// address sender, address receiver, bytes32 pieceHash, uint256 pieceIndex,
// uint256 pieceSize, uint256 timestamp): the 288 bytes whose keccak256 is Digest.
func Encode(d Domain, r Receipt) [EncodedLen]byte {
	var b [EncodedLen]byte
	encode(&b, &d, &r)
	return b
}

// encode writes every byte of b (padding included), so b may be reused.
func encode(b *[EncodedLen]byte, d *Domain, r *Receipt) {
	putUint(b[0:32], d.ChainID)
	putAddress(b[32:64], &d.Tracker)
	copy(b[64:96], r.InfoHash[:])
	putAddress(b[96:128], &r.Sender)
	putAddress(b[128:160], &r.Receiver)
	copy(b[160:192], r.PieceHash[:])
	putUint(b[192:224], uint64(r.PieceIndex))
	putUint(b[224:256], uint64(r.PieceSize))
	putUint(b[256:288], r.Timestamp)
}

func putUint(w []byte, v uint64) {
	clear(w[:24])
	binary.BigEndian.PutUint64(w[24:32], v)
}

func putAddress(w []byte, a *common.Address) {
	clear(w[:12])
	copy(w[12:32], a[:])
}

// Digest returns the receipt digest: keccak256 of Encode(d, r). It does not
// allocate.
func Digest(d Domain, r Receipt) [32]byte {
	h := getHasher()
	encode(&h.buf, &d, &r)
	out := h.sum(h.buf[:])
	putHasher(h)
	return out
}
