import { describe, expect, it } from 'vitest'
import { agentList, applyEvent, FEED_MAX, initialLiveState, parseEvent, throughputSeries, type LiveEvent, type LiveState } from './live'
import type { Agent, Batch, ReceiptRecord } from './types'

const A = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const B = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const C = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'

const agentA: Agent = { address: A, settledUploadBytes: '16777216', canLeech: true, ratioInfinite: true }
const agentB: Agent = {
  address: B,
  settledUploadBytes: '1048576',
  settledDownloadBytes: '1048576',
  ratio: 1,
  canLeech: false,
  leechRefusal: 'ratio 0.40 is below 0.50',
}

function loaded(): LiveState {
  let s = applyEvent(initialLiveState, { type: 'agentsLoaded', agents: [agentA, agentB], truncated: false })
  s = applyEvent(s, { type: 'statsLoaded', stats: { receiptsAccepted: '10', receiptsSettled: '4', bytesAccepted: '2621440', bytesSettled: '1048576' } })
  s = applyEvent(s, { type: 'batchesLoaded', batches: [{ id: '1', state: 'BATCH_STATE_SETTLED', receiptCount: 4, totalBytes: '1048576' }] })
  s = applyEvent(s, { type: 'trackerLoaded', info: { agents: '2', minRatio: 0.5 } })
  return s
}

let n = 0
function receipt(sender: string, receiver: string, size: number, at = '2026-01-01T00:00:01Z'): ReceiptRecord {
  n++
  return {
    receipt: { sender, receiver, pieceSize: size, pieceIndex: n, infoHash: `0x${'11'.repeat(20)}${'0'.repeat(24)}` },
    digest: `0x${n.toString(16).padStart(64, '0')}`,
    state: 'SETTLEMENT_STATE_PENDING',
    acceptedAt: at,
  }
}

describe('applyEvent: receipt', () => {
  it('raises the sender’s upload, the receiver’s download, and both ratios', () => {
    const s0 = loaded()
    const s1 = applyEvent(s0, { type: 'receipt', record: receipt(B, A, 262144) })
    const a = s1.agents[A.toLowerCase()]
    const b = s1.agents[B.toLowerCase()]
    // B sent: upload 1 MiB + 256 KiB over download 1 MiB.
    expect(b.pendingUp).toBe(262144n)
    expect(b.ratio).toBeCloseTo(1.25)
    expect(b.ratioInfinite).toBe(false)
    // A received: its first download, so its ratio is no longer infinite.
    expect(a.pendingDown).toBe(262144n)
    expect(a.ratioInfinite).toBe(false)
    expect(a.ratio).toBeCloseTo(16777216 / 262144)
    // The totals, the feed, the throughput.
    expect(s1.stats).toEqual({ status: 'ready', value: { receiptsAccepted: 11n, receiptsSettled: 4n, bytesAccepted: 2621440n + 262144n, bytesSettled: 1048576n } })
    expect(s1.feed[0]).toMatchObject({ kind: 'receipt' })
    expect(s1.buckets).toEqual([{ t: Date.parse('2026-01-01T00:00:00Z'), bytes: 262144, receipts: 1 }])
    expect(s1.touched.sort()).toEqual([A.toLowerCase(), B.toLowerCase()].sort())
  })

  it('does not mutate the state it is given', () => {
    const s0 = loaded()
    const before = JSON.stringify(s0, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
    applyEvent(s0, { type: 'receipt', record: receipt(B, A, 1000) })
    expect(JSON.stringify(s0, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before)
  })

  it('applies a receipt once, however often it arrives', () => {
    const r = receipt(A, B, 5)
    const s1 = applyEvent(loaded(), { type: 'receipt', record: r })
    const s2 = applyEvent(s1, { type: 'receipt', record: r })
    expect(s2).toBe(s1)
    expect(s2.agents[A.toLowerCase()].pendingUp).toBe(5n)
  })

  it('buckets throughput by 5 s of acceptance time', () => {
    let s = loaded()
    s = applyEvent(s, { type: 'receipt', record: receipt(A, B, 100, '2026-01-01T00:00:01Z') })
    s = applyEvent(s, { type: 'receipt', record: receipt(A, B, 200, '2026-01-01T00:00:04.900Z') })
    s = applyEvent(s, { type: 'receipt', record: receipt(A, B, 400, '2026-01-01T00:00:15Z') })
    const t0 = Date.parse('2026-01-01T00:00:00Z')
    expect(s.buckets).toEqual([
      { t: t0, bytes: 300, receipts: 2 },
      { t: t0 + 15000, bytes: 400, receipts: 1 },
    ])
    expect(throughputSeries(s.buckets).map((b) => b.bytes)).toEqual([0, 300, 0, 0, 400, 0])
    expect(throughputSeries(s.buckets)[0].t).toBe(t0 - 5000)
  })

  it('keeps the feed bounded, newest first', () => {
    let s = loaded()
    let last: ReceiptRecord | undefined
    for (let i = 0; i < FEED_MAX + 25; i++) {
      last = receipt(A, B, 1)
      s = applyEvent(s, { type: 'receipt', record: last })
    }
    expect(s.feed).toHaveLength(FEED_MAX)
    expect(s.feed[0]).toMatchObject({ kind: 'receipt', key: last!.digest })
    // ...while every receipt counted.
    expect(s.agents[A.toLowerCase()].pendingUp).toBe(BigInt(FEED_MAX + 25))
  })

  it('ignores agents it does not know, but still counts the receipt', () => {
    const s = applyEvent(loaded(), { type: 'receipt', record: receipt(C, A, 10) })
    expect(s.agents[C.toLowerCase()]).toBeUndefined()
    expect(s.agents[A.toLowerCase()].pendingDown).toBe(10n)
    expect(s.stats.status === 'ready' && s.stats.value.receiptsAccepted).toBe(11n)
  })
})

describe('applyEvent: batch', () => {
  const batch: Batch = { id: '2', state: 'BATCH_STATE_SETTLED', receiptCount: 3, agentCount: 2, totalBytes: '786432', txHash: `0x${'ab'.repeat(32)}`, blockNumber: '42', gasUsed: '123456', root: `0x${'cd'.repeat(32)}` }

  it('prepends the batch, counts its receipts as settled and asks for the agents again', () => {
    const s0 = loaded()
    const s1 = applyEvent(s0, { type: 'batch', batch })
    expect(s1.batches.status === 'ready' && s1.batches.value.map((b) => b.id)).toEqual(['2', '1'])
    expect(s1.feed[0]).toMatchObject({ kind: 'batch', key: 'batch-2' })
    expect(s1.stats.status === 'ready' && s1.stats.value.receiptsSettled).toBe(7n)
    expect(s1.stats.status === 'ready' && s1.stats.value.bytesSettled).toBe(1048576n + 786432n)
    expect(s1.agentsStale).toBe(s0.agentsStale + 1)
  })

  it('counts a batch once', () => {
    const s1 = applyEvent(loaded(), { type: 'batch', batch })
    const s2 = applyEvent(s1, { type: 'batch', batch })
    expect(s2.stats).toEqual(s1.stats)
    expect(s2.feed.filter((f) => f.kind === 'batch')).toHaveLength(1)
  })

  it('the refetched agents replace the figures (pending moved to settled)', () => {
    let s = applyEvent(loaded(), { type: 'receipt', record: receipt(B, A, 262144) })
    s = applyEvent(s, { type: 'batch', batch })
    s = applyEvent(s, { type: 'agentsLoaded', agents: [agentA, { ...agentB, settledUploadBytes: String(1048576 + 262144), ratio: 1.25 }], truncated: false })
    const b = s.agents[B.toLowerCase()]
    expect(b.settledUp).toBe(1310720n)
    expect(b.pendingUp).toBe(0n)
  })
})

describe('applyEvent: agent', () => {
  it('adds a new agent on top and counts it', () => {
    const s = applyEvent(loaded(), { type: 'agent', agent: { address: C, settledUploadBytes: '16777216', canLeech: true, ratioInfinite: true } })
    expect(agentList(s).map((a) => a.address)).toEqual([C, A, B])
    expect(s.tracker.status === 'ready' && s.tracker.value.agents).toBe('3')
  })
  it('ignores an agent it has', () => {
    const s0 = loaded()
    expect(applyEvent(s0, { type: 'agent', agent: agentA })).toBe(s0)
  })
})

describe('applyEvent: loads, reset', () => {
  it('reads absent protojson fields as zero/false/empty', () => {
    const s = applyEvent(initialLiveState, { type: 'agentsLoaded', agents: [{ address: C }], truncated: false })
    expect(s.agents[C.toLowerCase()]).toMatchObject({ settledUp: 0n, pendingDown: 0n, ratio: 0, ratioInfinite: false, canLeech: false, leechRefusal: '', invitedBy: '' })
  })
  it('a reset asks for a reload', () => {
    expect(applyEvent(loaded(), { type: 'reset' }).reloads).toBe(1)
  })
  it('keeps an error for a failed load', () => {
    expect(applyEvent(initialLiveState, { type: 'trackerFailed', error: 'Not Found' }).tracker).toEqual({ status: 'error', error: 'Not Found' })
  })
})

describe('parseEvent', () => {
  it('parses the gateway’s events', () => {
    expect(parseEvent('receipt', JSON.stringify(receipt(A, B, 1)))).toMatchObject({ type: 'receipt' })
    expect(parseEvent('batch', '{"id":"3"}')).toEqual({ type: 'batch', batch: { id: '3' } } satisfies LiveEvent)
    expect(parseEvent('agent', `{"address":"${A}"}`)).toMatchObject({ type: 'agent', agent: { address: A } })
    expect(parseEvent('reset', '{"reason":"gone"}')).toEqual({ type: 'reset' })
    expect(parseEvent('receipt', 'not json')).toBeNull()
    expect(parseEvent('other', '{}')).toBeNull()
  })
})
