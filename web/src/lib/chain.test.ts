import type { Hex } from 'viem'
import { describe, expect, it, vi } from 'vitest'
import { verifyReceipt, type ChainReader } from './chain'
import type { ReceiptRecord } from './types'

// testdata/receipts.json: receipts[1] and its proof in the three-receipt tree.
const TRACKER = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const ROOT: Hex = '0xf4784b2c1a03b4b890bb4d285a2d9b212700ef443a809b974653a7619fc3c554'
const record = (): ReceiptRecord => ({
  receipt: {
    infoHash: '0x07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5000000000000000000000000',
    sender: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    receiver: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    pieceHash: '0xfe594d71700b510718d74ac23627e07b0d1d28425785afff55aeba7c10327544',
    pieceIndex: 42,
    pieceSize: 262144,
    timestamp: '1708387260',
    signature: '0x582f031c6d2633848d048728001b08d0769c258535d111db6e47eb536f85233f045a49cb3668fff408dbb3f3829980c6a73f62dee2b2b68be723d01c2f824e3f1b',
  },
  digest: '0x2e9687fdc3d932a4c7d170c293d69a889302d787a03fb8ac8e48c514b85e4ef5',
  state: 'SETTLEMENT_STATE_SETTLED',
  batchId: '7',
  blockNumber: '123',
  batchRoot: ROOT,
  merkleProof: [
    '0x0f28dc2318e8116bfbed87bfeda2bc1b8e900073c58b7c5977557fcfe1dd68d1',
    '0xda555cc54d089bb6d53b6fb6c1c2126d6a690532494115fe8e05af1451387da6',
  ],
})

function reader(over: Partial<ChainReader> = {}): ChainReader {
  return {
    chainId: vi.fn(async () => 31337),
    batchRoot: vi.fn(async (id: bigint) => (id === 7n ? ROOT : (`0x${'0'.repeat(64)}` as Hex))),
    verifyReceipt: vi.fn(async () => true),
    ...over,
  }
}

describe('verifyReceipt', () => {
  it('says "verified on chain" when every step passes, and asks the contract the right questions', async () => {
    const r = reader()
    const out = await verifyReceipt(record(), 31337n, TRACKER, r)
    expect(out.ok).toBe(true)
    expect(out.summary).toMatch(/^verified on chain/)
    expect(out.steps.map((s) => s.name)).toEqual(['settlement', 'digest', 'Merkle proof', 'chain id', 'on-chain root', 'verifyReceipt'])
    expect(r.batchRoot).toHaveBeenCalledWith(7n)
    expect(r.verifyReceipt).toHaveBeenCalledWith(7n, '0x2e9687fdc3d932a4c7d170c293d69a889302d787a03fb8ac8e48c514b85e4ef5', record().merkleProof)
  })

  it('fails at the on-chain root when the contract holds another root', async () => {
    const out = await verifyReceipt(record(), 31337n, TRACKER, reader({ batchRoot: async () => `0x${'ab'.repeat(32)}` as Hex }))
    expect(out.ok).toBe(false)
    expect(out.summary).toMatch(/^not verified: on-chain root failed/)
  })

  it('fails when the batch is unknown on chain (zero root)', async () => {
    const out = await verifyReceipt({ ...record(), batchId: '8' }, 31337n, TRACKER, reader({ verifyReceipt: async () => false }))
    expect(out.ok).toBe(false)
    expect(out.steps.find((s) => s.name === 'on-chain root')?.detail).toMatch(/is zero/)
  })

  it('fails when verifyReceipt returns false, even if the roots agree', async () => {
    const out = await verifyReceipt(record(), 31337n, TRACKER, reader({ verifyReceipt: async () => false }))
    expect(out.ok).toBe(false)
    expect(out.summary).toMatch(/verifyReceipt failed/)
  })

  it('fails at the digest when a field was changed', async () => {
    const rec = record()
    rec.receipt!.pieceSize = 262143
    const out = await verifyReceipt(rec, 31337n, TRACKER, reader())
    expect(out.ok).toBe(false)
    expect(out.summary).toMatch(/^not verified: digest failed/)
  })

  it('fails at the proof when a sibling is wrong', async () => {
    const rec = record()
    rec.merkleProof = rec.merkleProof!.slice(0, 1)
    const out = await verifyReceipt(rec, 31337n, TRACKER, reader())
    expect(out.ok).toBe(false)
    expect(out.summary).toMatch(/Merkle proof failed/)
  })

  it('fails when the RPC is on another chain, or does not answer', async () => {
    expect((await verifyReceipt(record(), 31337n, TRACKER, reader({ chainId: async () => 1 }))).summary).toMatch(/chain id failed/)
    const down = await verifyReceipt(record(), 31337n, TRACKER, reader({ chainId: async () => Promise.reject(new Error('fetch failed')) }))
    expect(down.ok).toBe(false)
    expect(down.summary).toMatch(/fetch failed/)
  })

  it('does not try a receipt that is not settled', async () => {
    const r = reader()
    const out = await verifyReceipt({ ...record(), state: 'SETTLEMENT_STATE_BATCHED' }, 31337n, TRACKER, r)
    expect(out.ok).toBe(false)
    expect(out.summary).toMatch(/settlement failed/)
    expect(r.batchRoot).not.toHaveBeenCalled()
  })
})
