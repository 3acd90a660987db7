// Display helpers: binary byte units, short addresses, ratios, times.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const

/** toBig parses a protojson 64-bit figure (a decimal string, or a number); anything else is 0. */
export function toBig(v: string | number | bigint | undefined | null): bigint {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : v > 0 ? BigInt(Math.floor(v)) : 0n
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v)
  return 0n
}

/** formatBytes prints a byte count in binary units: 512 B, 256 KiB, 1.5 MiB, 2.25 GiB. */
export function formatBytes(v: string | number | bigint | undefined | null): string {
  const n = toBig(v)
  let k = 0
  while (k < UNITS.length - 1 && n >= 1024n ** BigInt(k + 1)) k++
  if (k === 0) return `${n} B`
  const div = 1024n ** BigInt(k)
  // Exact integer part, then two decimals from the remainder (rounded half up).
  const hundredths = (n * 100n + div / 2n) / div
  let whole = hundredths / 100n
  let frac = hundredths % 100n
  if (whole >= 1024n && k < UNITS.length - 1) {
    // Rounding carried into the next unit (e.g. 1023.999 KiB).
    k++
    whole = 1n
    frac = 0n
  }
  const fracStr = frac === 0n ? '' : `.${frac.toString().padStart(2, '0')}`.replace(/0$/, '')
  return `${whole}${fracStr} ${UNITS[k]}`
}

/**
 * byteTicks gives round axis ticks in binary units from 0 to at least max:
 * steps of 1, 2 or 5 (times a power of ten) of the unit max is shown in,
 * at most `most` steps, so that the labels read "256 KiB", not "292.97 KiB".
 */
export function byteTicks(max: number, most = 4, atLeast = 1): number[] {
  if (!(max > 0)) return [0]
  let unit = atLeast
  while (unit * 1024 <= max && unit < 1024 ** 6) unit *= 1024
  const inUnit = max / unit
  let step = 0
  for (let p = 1; !step; p *= 10) {
    for (const m of [1, 2, 5]) {
      if (inUnit / (m * p) <= most) {
        step = m * p
        break
      }
    }
  }
  const steps = Math.ceil(inUnit / step - 1e-9)
  // 1000 B, 1500 B would read 1.46 KiB: go up a unit instead.
  if (steps * step >= 1024 && unit < 1024 ** 6) return byteTicks(max, most, unit * 1024)
  return Array.from({ length: steps + 1 }, (_, i) => i * step * unit)
}

/** shortAddr shortens an address or hash to 0x1234…abcd. */
export function shortAddr(a: string | undefined | null, head = 6, tail = 4): string {
  if (!a) return ''
  if (a.length <= head + tail + 1) return a
  return `${a.slice(0, head)}…${a.slice(-tail)}`
}

export interface RatioValue {
  ratio: number
  infinite: boolean
}

/** computeRatio is upload/download, infinite when nothing was downloaded (the tracker's rule). */
export function computeRatio(up: bigint, down: bigint): RatioValue {
  if (down === 0n) return { ratio: 0, infinite: true }
  return { ratio: Number(up) / Number(down), infinite: false }
}

/** formatRatio prints a ratio with two decimals, ∞ when infinite. */
export function formatRatio(ratio: number | undefined, infinite?: boolean): string {
  if (infinite) return '∞'
  const r = ratio ?? 0
  if (!Number.isFinite(r)) return '∞'
  if (r >= 1000) return r.toExponential(2)
  return r.toFixed(2)
}

/** ratioMeets tells whether a ratio reaches the threshold. */
export function ratioMeets(ratio: number | undefined, infinite: boolean | undefined, minRatio: number): boolean {
  return Boolean(infinite) || (ratio ?? 0) >= minRatio
}

export interface RatioBarModel {
  /** Filled share of the bar, 0..100. */
  fillPct: number
  /** Where the threshold mark sits, 0..100 (null without a threshold). */
  markPct: number | null
  /** The ratio reaches the threshold. */
  ok: boolean
  /** The ratio the full bar stands for. */
  scaleMax: number
}

/**
 * ratioBarModel places a ratio on a bar whose full width is max(1, 2 × minRatio),
 * so the threshold mark sits at most halfway; an infinite ratio fills the bar.
 */
export function ratioBarModel(ratio: number | undefined, infinite: boolean | undefined, minRatio: number | undefined): RatioBarModel {
  const min = minRatio && minRatio > 0 ? minRatio : 0
  const scaleMax = Math.max(1, 2 * min)
  const r = infinite ? scaleMax : Math.max(0, ratio ?? 0)
  const fillPct = Math.min(100, (r / scaleMax) * 100)
  return {
    fillPct: Math.round(fillPct * 10) / 10,
    markPct: min > 0 ? Math.round((min / scaleMax) * 1000) / 10 : null,
    ok: ratioMeets(ratio, infinite, min),
    scaleMax,
  }
}

/** parseDuration reads a protojson Duration ("1.5s", "-2s") into seconds; NaN when it is not one. */
export function parseDuration(d: string | undefined | null): number {
  if (!d) return 0
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(d.trim())
  return m ? Number(m[1]) : Number.NaN
}

/** formatSeconds prints a span of seconds as 45 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—'
  const neg = s < 0
  let t = Math.abs(s)
  let out: string
  if (t < 1) out = `${Math.round(t * 1000)} ms`
  else if (t < 60) out = `${Math.round(t * 10) / 10} s`
  else if (t < 3600) {
    t = Math.round(t)
    out = `${Math.floor(t / 60)} min ${t % 60} s`
  } else if (t < 86400) {
    t = Math.round(t / 60)
    out = `${Math.floor(t / 60)} h ${t % 60} min`
  } else {
    t = Math.round(t / 3600)
    out = `${Math.floor(t / 24)} d ${t % 24} h`
  }
  return neg ? `-${out}` : out
}

/** formatDuration prints a protojson Duration. */
export function formatDuration(d: string | undefined | null): string {
  return formatSeconds(parseDuration(d))
}

/** formatTime prints an RFC 3339 time in the viewer's locale; '—' when absent. */
export function formatTime(t: string | undefined | null): string {
  if (!t) return '—'
  const ms = Date.parse(t)
  if (Number.isNaN(ms)) return t
  return new Date(ms).toLocaleString()
}

/** formatInt prints an integer figure with digit grouping (a 64-bit string stays exact). */
export function formatInt(v: string | number | bigint | undefined | null): string {
  return toBig(v).toLocaleString('en-US')
}

/** formatEth prints wei as ETH with at most 6 decimals. */
export function formatEth(wei: string | bigint | undefined | null): string {
  const w = toBig(wei ?? '0')
  const unit = 10n ** 18n
  const whole = w / unit
  const micro = ((w % unit) * 1_000_000n + unit / 2n) / unit
  if (micro === 1_000_000n) return `${whole + 1n} ETH`
  const frac = micro === 0n ? '' : `.${micro.toString().padStart(6, '0').replace(/0+$/, '')}`
  return `${whole.toLocaleString('en-US')}${frac} ETH`
}

/** modalityLabel turns MODALITY_VIDEO into "video". */
export function modalityLabel(m: string | undefined): string {
  if (!m || m === 'MODALITY_UNSPECIFIED') return '—'
  return m.replace(/^MODALITY_/, '').toLowerCase()
}

/** stateLabel turns SETTLEMENT_STATE_SETTLED (or BATCH_STATE_SENT) into "settled". */
export function stateLabel(s: string | undefined): string {
  if (!s) return 'unknown'
  return s.replace(/^(SETTLEMENT_STATE_|BATCH_STATE_|CHAIN_REGISTRATION_|TRANSACTION_STATE_|TRANSACTION_KIND_)/, '').toLowerCase()
}
