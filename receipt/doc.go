// Package receipt defines the PBTS receipt encoding shared by the agent CLI, the
// tracker, the receipts verifier, the chain writer and the ReputationTracker
// contract. It is the only place where the byte layout is written down in Go.
//
// # Receipt digest
//
// A downloader signs one [Receipt] per (verified piece, sender that supplied bytes
// of it). Its digest is
//
//	keccak256(abi.encode(
//	    uint256 chainId, address tracker,            // the Domain
//	    bytes32 infohash, address sender, address receiver,
//	    bytes32 pieceHash, uint256 pieceIndex, uint256 pieceSize, uint256 timestamp))
//
// that is nine 32-byte big-endian words (288 bytes, [EncodedLen]); addresses and the
// integers are left-padded with zeros, bytes32 values are taken as they are. A v1
// (SHA-1, 20-byte) info hash is left-aligned in its word (see [InfoHashFromV1]), a
// v2 (SHA-256) info hash fills it. pieceHash is sha256 of the piece data and
// pieceSize the number of bytes of the piece that the sender supplied.
//
// # Domain separation
//
// The [Domain] (chain id and the address of the ReputationTracker contract) is the
// first two words of every digest, so a receipt signed for one tracker or chain is
// worthless at any other: its digest, and therefore the recovered signer, differ.
//
// # Signatures
//
// The receiver signs with EIP-191 personal_sign over the 32 raw digest bytes:
// keccak256("\x19Ethereum Signed Message:\n32" ++ digest) ([PersonalHash]); this is
// what ethers' signMessage(getBytes(digest)), `cast wallet sign <digest>` and
// OpenZeppelin's MessageHashUtils.toEthSignedMessageHash(bytes32) compute. A
// signature is r||s||v (65 bytes) with v in {27, 28}. Verification also accepts the
// raw recovery ids v in {0, 1} and treats them as 27 and 28 ([NormalizeSignature]
// returns the canonical form, which is what should be stored, because on-chain
// ecrecover only takes 27/28). Signatures with s above secp256k1n/2 (the malleable
// twin of every valid signature), with r or s out of range, or of the wrong length
// are refused; every such error matches [ErrBadSignature] with errors.Is.
//
// # Text messages
//
// Agent registration (and later other requests, such as dataset publication) is an
// EIP-191 personal_sign of a human-readable text ([SignText], [RecoverText]). The
// registration text is fixed by [RegistrationMessage]; it names the chain, the
// tracker contract, the agent and a unix timestamp, and [VerifyRegistration] bounds
// the timestamp's distance from the verifier's clock.
//
// # Merkle root
//
// A settlement batch commits to the digests of its receipts with an OpenZeppelin
// StandardMerkleTree of leaf type bytes32 ([NewTree], [MerkleRoot]): leaf =
// keccak256(keccak256(digest)), leaves sorted ascending, sorted-pair keccak for
// internal nodes. The root and proofs are bit for bit those of
// @openzeppelin/merkle-tree's StandardMerkleTree.of(digests.map(d => [d]), ["bytes32"])
// and verify with OpenZeppelin's MerkleProof.verify on chain.
package receipt
