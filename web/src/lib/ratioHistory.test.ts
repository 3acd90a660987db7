import { describe, expect, it } from 'vitest'
import { ratioHistory } from './ratioHistory'
import type { ReceiptRecord } from './types'

const ME = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const OTHER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const rec = (sender: string, receiver: string, size: number, at: string): ReceiptRecord => ({
  receipt: { sender, receiver, pieceSize: size },
  digest: at,
  acceptedAt: at,
})

describe('ratioHistory', () => {
  it('walks back from the totals and ends at them', () => {
    // Totals: up 300 (100 credit + 200 sent), down 100 (received).
    const rs = [rec(ME, OTHER, 200, '2026-01-01T00:00:03Z'), rec(OTHER, ME, 100, '2026-01-01T00:00:01Z')]
    const h = ratioHistory(rs, ME.toLowerCase(), 300n, 100n, Date.parse('2026-01-01T00:01:00Z'))
    expect(h.inconsistent).toBe(false)
    expect(h.points.map((p) => [p.up, p.down, p.ratio])).toEqual([
      [100, 0, null], // before anything: the credit, infinite
      [100, 100, 1], // after receiving 100
      [300, 100, 3], // after sending 200: the current totals
    ])
    expect(h.points[0].t).toBeLessThan(h.points[1].t)
    expect(h.points.at(-1)!.t).toBe(Date.parse('2026-01-01T00:00:03Z'))
  })

  it('flags totals smaller than the receipts', () => {
    const h = ratioHistory([rec(ME, OTHER, 500, '2026-01-01T00:00:00Z')], ME, 100n, 0n, 0)
    expect(h.inconsistent).toBe(true)
    expect(h.points[0].up).toBe(0)
  })

  it('with no receipts is the current point', () => {
    const h = ratioHistory([], ME, 10n, 5n, 1000)
    expect(h.points).toEqual([{ t: 1000, up: 10, down: 5, ratio: 2 }])
  })
})
