// Receipt digests and OpenZeppelin StandardMerkleTree proofs, as
// contracts/src/ReputationTracker.sol (digest, receiptLeaf, _hashPair) and
// receipt/receipt.go + receipt/merkle.go compute them:
//
//   digest = keccak256(abi.encode(uint256 chainId, address tracker, bytes32 infohash,
//              address sender, address receiver, bytes32 pieceHash,
//              uint256 pieceIndex, uint256 pieceSize, uint256 timestamp))
//   leaf   = keccak256(bytes.concat(keccak256(abi.encode(digest))))  (= keccak256(keccak256(digest)))
//   node   = keccak256(min(a, b) ++ max(a, b))                        (sorted pairs)
//   root   = fold node over the proof, siblings from the leaf up
import { concat, encodeAbiParameters, keccak256, type Hex } from 'viem'
import type { Receipt } from './types'

const BYTES32 = /^0x[0-9a-fA-F]{64}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

export interface ReceiptFields {
  infoHash: Hex
  sender: Hex
  receiver: Hex
  pieceHash: Hex
  pieceIndex: bigint
  pieceSize: bigint
  timestamp: bigint
}

/** infoHash32 is the bytes32 form of an info hash: a v1 (20-byte) hash left-aligned and zero-filled. */
export function infoHash32(ih: string): Hex {
  const h = ih.toLowerCase()
  if (/^0x[0-9a-f]{40}$/.test(h)) return `${h}${'0'.repeat(24)}` as Hex
  if (BYTES32.test(h)) return h as Hex
  throw new Error(`info hash ${ih} is neither 20 nor 32 bytes`)
}

/** receiptFields reads a receipt as the gateway sends it (protojson omits zero fields). */
export function receiptFields(r: Receipt): ReceiptFields {
  const need = (v: string | undefined, re: RegExp, name: string): Hex => {
    if (!v || !re.test(v)) throw new Error(`receipt ${name} is malformed: ${v ?? '(missing)'}`)
    return v.toLowerCase() as Hex
  }
  return {
    infoHash: infoHash32(need(r.infoHash, /^0x([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, 'infoHash')),
    sender: need(r.sender, ADDRESS, 'sender'),
    receiver: need(r.receiver, ADDRESS, 'receiver'),
    pieceHash: need(r.pieceHash, BYTES32, 'pieceHash'),
    pieceIndex: BigInt(r.pieceIndex ?? 0),
    pieceSize: BigInt(r.pieceSize ?? 0),
    timestamp: BigInt(r.timestamp ?? '0'),
  }
}

/** receiptDigest is the contract's digest() for a receipt on chain chainId at tracker contract `tracker`. */
export function receiptDigest(chainId: bigint, tracker: Hex, f: ReceiptFields): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'address' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'uint256' },
        { type: 'uint256' },
        { type: 'uint256' },
      ],
      [chainId, tracker, f.infoHash, f.sender, f.receiver, f.pieceHash, f.pieceIndex, f.pieceSize, f.timestamp],
    ),
  )
}

/** receiptLeaf is the StandardMerkleTree leaf of a digest. */
export function receiptLeaf(digest: Hex): Hex {
  return keccak256(keccak256(digest))
}

/** hashPair is OpenZeppelin's commutative keccak256 of two nodes (the smaller first). */
export function hashPair(a: Hex, b: Hex): Hex {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]))
}

/** processProof is the root a proof leads to from a digest (MerkleProof.processProof on its leaf). */
export function processProof(digest: Hex, proof: readonly Hex[]): Hex {
  let node = receiptLeaf(digest)
  for (const p of proof) {
    if (!BYTES32.test(p)) throw new Error(`proof element ${p} is not 32 bytes`)
    node = hashPair(node, p.toLowerCase() as Hex)
  }
  return node
}

/**
 * buildTree is the StandardMerkleTree over digests (leaves sorted by hash,
 * tree[2n-2-i] = sortedLeaves[i], tree[i] = hashPair(tree[2i+1], tree[2i+2]))
 * with each digest's proof: what the chainwriter computes for a batch.
 */
export function buildTree(digests: readonly Hex[]): { root: Hex; proofs: Map<string, Hex[]> } {
  const n = digests.length
  if (n === 0) throw new Error('a Merkle tree needs at least one digest')
  const leaves = digests.map((d) => ({ d: d.toLowerCase(), leaf: receiptLeaf(d) }))
  leaves.sort((x, y) => (BigInt(x.leaf) < BigInt(y.leaf) ? -1 : BigInt(x.leaf) > BigInt(y.leaf) ? 1 : 0))
  const nodes: Hex[] = new Array<Hex>(2 * n - 1)
  leaves.forEach((l, i) => {
    nodes[2 * n - 2 - i] = l.leaf
  })
  for (let i = n - 2; i >= 0; i--) nodes[i] = hashPair(nodes[2 * i + 1], nodes[2 * i + 2])
  const proofs = new Map<string, Hex[]>()
  leaves.forEach((l, i) => {
    const proof: Hex[] = []
    let j = 2 * n - 2 - i
    while (j > 0) {
      proof.push(j % 2 === 1 ? nodes[j + 1] : nodes[j - 1])
      j = Math.floor((j - 1) / 2)
    }
    proofs.set(l.d, proof)
  })
  return { root: nodes[0], proofs }
}
