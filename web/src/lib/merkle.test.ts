// The digest and Merkle code against the vectors the Go code (receipt/) and
// the contract's tests are pinned to: ../testdata/receipts.json (ethers +
// @openzeppelin/merkle-tree, checked with cast) and receipt/testdata/oz_trees.json.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { buildTree, hashPair, infoHash32, processProof, receiptDigest, receiptFields, receiptLeaf } from './merkle'

interface Vectors {
  receipts: {
    chainId: number
    tracker: Hex
    infohash: Hex
    sender: Hex
    receiver: Hex
    pieceHash: Hex
    pieceIndex: number
    pieceSize: number
    timestamp: number
    digest: Hex
  }[]
  merkle: { root: Hex; leaves: { digest: Hex; leafHash: Hex; proof: Hex[] }[] }
}
interface OzTrees {
  trees: { digests: Hex[]; root: Hex; proofs: { index: number; proof: Hex[] }[] }[]
}

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const vectors = JSON.parse(readFileSync(resolve(repo, 'testdata/receipts.json'), 'utf8')) as Vectors
const oz = JSON.parse(readFileSync(resolve(repo, 'receipt/testdata/oz_trees.json'), 'utf8')) as OzTrees

describe('receipt digest', () => {
  it('matches the pinned first vector (as the gateway sends it)', () => {
    // testdata/receipts.json receipts[0], as a ReceiptRecord's receipt (protojson: pieceIndex 0 omitted, timestamp a string).
    const f = receiptFields({
      infoHash: '0x07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5000000000000000000000000',
      sender: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      receiver: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      pieceHash: '0x0384464402f44c57cd80ec60aadfb6221f3f2747c357c5f9292f64c15ac856c2',
      pieceSize: 262144,
      timestamp: '1708387200',
    })
    expect(receiptDigest(31337n, '0x5FbDB2315678afecb367f032d93F642f64180aa3', f)).toBe(
      '0x33e4a6567f74b917b5cdef44d0d41e284041c90d57d0ef21b1669fa121a944b6',
    )
  })

  it('matches every shared vector', () => {
    expect(vectors.receipts.length).toBeGreaterThan(0)
    for (const v of vectors.receipts) {
      const f = receiptFields({
        infoHash: v.infohash,
        sender: v.sender,
        receiver: v.receiver,
        pieceHash: v.pieceHash,
        pieceIndex: v.pieceIndex,
        pieceSize: v.pieceSize,
        timestamp: String(v.timestamp),
      })
      expect(receiptDigest(BigInt(v.chainId), v.tracker, f)).toBe(v.digest)
    }
  })

  it('is bound to the chain, the contract and every field', () => {
    const v = vectors.receipts[0]
    const f = receiptFields({ infoHash: v.infohash, sender: v.sender, receiver: v.receiver, pieceHash: v.pieceHash, pieceSize: v.pieceSize, timestamp: String(v.timestamp) })
    expect(receiptDigest(1n, v.tracker, f)).not.toBe(v.digest)
    expect(receiptDigest(31337n, v.sender, f)).not.toBe(v.digest)
    expect(receiptDigest(31337n, v.tracker, { ...f, pieceSize: f.pieceSize + 1n })).not.toBe(v.digest)
    expect(receiptDigest(31337n, v.tracker, { ...f, sender: f.receiver, receiver: f.sender })).not.toBe(v.digest)
  })

  it('left-aligns a v1 info hash', () => {
    expect(infoHash32('0x07E453E21D1B9E7182C2C9CDBD2CBA0BFFB672C5')).toBe('0x07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5000000000000000000000000')
    expect(() => infoHash32('0x1234')).toThrow()
  })

  it('refuses malformed fields', () => {
    expect(() => receiptFields({ infoHash: '0x00', sender: '0x1', receiver: '0x2', pieceHash: '0x3' })).toThrow(/infoHash/)
  })
})

describe('StandardMerkleTree', () => {
  it('leaf is keccak256(keccak256(digest))', () => {
    for (const l of vectors.merkle.leaves) expect(receiptLeaf(l.digest)).toBe(l.leafHash)
  })

  it('hashes pairs sorted (commutative)', () => {
    const [a, b] = vectors.merkle.leaves.map((l) => l.leafHash)
    expect(hashPair(a, b)).toBe(hashPair(b, a))
  })

  it('each shared proof leads to the shared root', () => {
    for (const l of vectors.merkle.leaves) expect(processProof(l.digest, l.proof)).toBe(vectors.merkle.root)
    // ...and the pinned root, literally:
    expect(vectors.merkle.root).toBe('0xf4784b2c1a03b4b890bb4d285a2d9b212700ef443a809b974653a7619fc3c554')
  })

  it('a wrong sibling or digest does not', () => {
    const l = vectors.merkle.leaves[1]
    expect(processProof(l.digest, l.proof.slice(0, 1))).not.toBe(vectors.merkle.root)
    expect(processProof(vectors.merkle.leaves[0].digest, l.proof)).not.toBe(vectors.merkle.root)
  })

  it('builds the same trees and proofs as @openzeppelin/merkle-tree', () => {
    expect(oz.trees.length).toBeGreaterThan(3)
    for (const t of oz.trees) {
      const { root, proofs } = buildTree(t.digests)
      expect(root).toBe(t.root)
      for (const p of t.proofs) {
        expect(proofs.get(t.digests[p.index].toLowerCase())).toEqual(p.proof)
        expect(processProof(t.digests[p.index], p.proof)).toBe(t.root)
      }
    }
  })

  it('a single-leaf tree has an empty proof and the leaf as root', () => {
    const d = vectors.merkle.leaves[0].digest
    expect(buildTree([d]).root).toBe(receiptLeaf(d))
    expect(processProof(d, [])).toBe(receiptLeaf(d))
  })
})
