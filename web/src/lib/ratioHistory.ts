// An agent's ratio over time, derived from its receipts: walking back from
// its current totals (settled + pending), each receipt it sent took its
// upload up by the piece size and each it received its download.
import { recordTime } from './live'
import type { ReceiptRecord } from './types'

export interface RatioPoint {
  /** ms since the epoch */
  t: number
  up: number
  down: number
  /** null when nothing was downloaded yet (an infinite ratio) */
  ratio: number | null
}

export interface RatioHistory {
  points: RatioPoint[]
  /** Walking back went below zero: the totals and the receipts disagree (e.g. receipts of a referrer tracker). */
  inconsistent: boolean
}

/**
 * ratioHistory returns a point after each receipt (the last one is the
 * current totals) and one just before the first; with no receipts, the
 * current totals at `now`.
 */
export function ratioHistory(records: readonly ReceiptRecord[], agent: string, totalUp: bigint, totalDown: bigint, now: number = Date.now()): RatioHistory {
  const me = agent.toLowerCase()
  const rs = records
    .map((r, i) => ({ r, i, t: recordTime(r) }))
    .filter(({ r }) => (r.receipt?.sender ?? '').toLowerCase() === me || (r.receipt?.receiver ?? '').toLowerCase() === me)
    .sort((a, b) => a.t - b.t || a.i - b.i)
  const point = (t: number, up: bigint, down: bigint): RatioPoint => ({
    t,
    up: Number(up),
    down: Number(down),
    ratio: down === 0n ? null : Number(up) / Number(down),
  })
  let up = totalUp
  let down = totalDown
  let inconsistent = false
  if (rs.length === 0) return { points: [point(now, up, down)], inconsistent: false }
  const back: RatioPoint[] = []
  for (let k = rs.length - 1; k >= 0; k--) {
    const { r, t } = rs[k]
    back.push(point(t, up, down))
    const size = BigInt(r.receipt?.pieceSize ?? 0)
    if ((r.receipt?.sender ?? '').toLowerCase() === me) up -= size
    else down -= size
    if (up < 0n || down < 0n) {
      inconsistent = true
      up = up < 0n ? 0n : up
      down = down < 0n ? 0n : down
    }
  }
  back.push(point(rs[0].t - 1, up, down))
  return { points: back.reverse(), inconsistent }
}
