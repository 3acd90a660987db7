import { describe, expect, it } from 'vitest'
import {
  computeRatio,
  byteTicks,
  formatBytes,
  formatDuration,
  formatEth,
  formatRatio,
  parseDuration,
  ratioBarModel,
  ratioMeets,
  shortAddr,
  stateLabel,
  toBig,
} from './format'

describe('formatBytes (binary units)', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [262144, '256 KiB'],
    [1048576, '1 MiB'],
    [1572864, '1.5 MiB'],
    [16 * 1024 * 1024, '16 MiB'],
    [40 * 1024 * 1024 + 1024 * 1024 * 0.25, '40.25 MiB'],
    [1024 ** 3, '1 GiB'],
    [1024 ** 4 * 3, '3 TiB'],
  ])('%d → %s', (n, want) => {
    expect(formatBytes(n)).toBe(want)
  })

  it('reads protojson uint64 strings exactly, beyond 2^53', () => {
    expect(formatBytes('18446744073709551615')).toBe('16 EiB')
    expect(formatBytes('1073741824')).toBe('1 GiB')
    expect(toBig('9007199254740993')).toBe(9007199254740993n)
  })

  it('rounds to two decimals and carries into the next unit', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MiB') // 1023.999 KiB
    expect(formatBytes(1024 + 5)).toBe('1 KiB') // 1.0049 KiB
    expect(formatBytes(1024 + 6)).toBe('1.01 KiB')
  })

  it('treats absent or malformed figures as zero', () => {
    expect(formatBytes(undefined)).toBe('0 B')
    expect(formatBytes('abc')).toBe('0 B')
    expect(formatBytes(-5)).toBe('0 B')
  })
})

describe('shortAddr', () => {
  it('keeps 0x + 4 and the last 4', () => {
    expect(shortAddr('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')).toBe('0x7099…79C8')
  })
  it('leaves short strings alone', () => {
    expect(shortAddr('0x1234')).toBe('0x1234')
    expect(shortAddr(undefined)).toBe('')
  })
})

describe('ratios', () => {
  it('formats with two decimals, ∞ when infinite', () => {
    expect(formatRatio(1.5, false)).toBe('1.50')
    expect(formatRatio(0.333333)).toBe('0.33')
    expect(formatRatio(0, true)).toBe('∞')
    expect(formatRatio(undefined)).toBe('0.00')
    expect(formatRatio(Number.POSITIVE_INFINITY)).toBe('∞')
  })
  it('computes upload/download, infinite with nothing downloaded', () => {
    expect(computeRatio(10n, 0n)).toEqual({ ratio: 0, infinite: true })
    expect(computeRatio(3n, 2n)).toEqual({ ratio: 1.5, infinite: false })
    expect(computeRatio(0n, 4n)).toEqual({ ratio: 0, infinite: false })
  })
  it('meets the threshold at or above it, or when infinite', () => {
    expect(ratioMeets(0.5, false, 0.5)).toBe(true)
    expect(ratioMeets(0.49, false, 0.5)).toBe(false)
    expect(ratioMeets(0, true, 0.5)).toBe(true)
  })
})

describe('ratioBarModel', () => {
  it('puts the threshold mark halfway for min 0.5 (scale 0..1)', () => {
    const m = ratioBarModel(0.25, false, 0.5)
    expect(m.scaleMax).toBe(1)
    expect(m.markPct).toBe(50)
    expect(m.fillPct).toBe(25)
    expect(m.ok).toBe(false)
  })
  it('is ok at or above the mark and caps the fill at 100', () => {
    expect(ratioBarModel(0.5, false, 0.5)).toMatchObject({ fillPct: 50, ok: true })
    expect(ratioBarModel(7, false, 0.5)).toMatchObject({ fillPct: 100, ok: true })
  })
  it('scales to twice a threshold above 1', () => {
    expect(ratioBarModel(3, false, 2)).toEqual({ fillPct: 75, markPct: 50, ok: true, scaleMax: 4 })
    expect(ratioBarModel(1, false, 1.2).markPct).toBe(50)
  })
  it('fills the bar for an infinite ratio', () => {
    expect(ratioBarModel(0, true, 0.5)).toMatchObject({ fillPct: 100, ok: true })
  })
  it('has no mark without a threshold', () => {
    expect(ratioBarModel(0.3, false, 0)).toMatchObject({ markPct: null, ok: true })
  })
})

describe('durations, ETH, labels', () => {
  it('parses protojson Durations', () => {
    expect(parseDuration('1.5s')).toBe(1.5)
    expect(parseDuration('0s')).toBe(0)
    expect(parseDuration(undefined)).toBe(0)
    expect(Number.isNaN(parseDuration('5m'))).toBe(true)
    expect(formatDuration('125s')).toBe('2 min 5 s')
    expect(formatDuration('0.25s')).toBe('250 ms')
    expect(formatDuration('7260s')).toBe('2 h 1 min')
  })
  it('prints wei as ETH', () => {
    expect(formatEth('10000000000000000000000')).toBe('10,000 ETH')
    expect(formatEth('1500000000000000000')).toBe('1.5 ETH')
    expect(formatEth('999999999999999999')).toBe('1 ETH')
    expect(formatEth(undefined)).toBe('0 ETH')
  })
  it('labels enums', () => {
    expect(stateLabel('SETTLEMENT_STATE_SETTLED')).toBe('settled')
    expect(stateLabel('BATCH_STATE_SENT')).toBe('sent')
  })
})

describe('byteTicks', () => {
  it.each([
    [0, [0]],
    [-5, [0]],
    [3, [0, 1, 2, 3]],
    [900, [0, 500, 1000]],
    [1023, [0, 1024]],
    [600 * 1024, [0, 200 * 1024, 400 * 1024, 600 * 1024]],
    [585.94 * 1024, [0, 200 * 1024, 400 * 1024, 600 * 1024]],
    [1024 * 1024, [0, 1024 * 1024]],
    [3.5 * 1024 ** 3, [0, 1024 ** 3, 2 * 1024 ** 3, 3 * 1024 ** 3, 4 * 1024 ** 3]],
  ])('max %s gives %j', (max, want) => {
    expect(byteTicks(max)).toEqual(want)
  })

  it('labels are round in the unit: never more than the step\'s digits', () => {
    for (const max of [1, 7, 100, 1023, 5000, 123456, 9e6, 7.7e9]) {
      const ticks = byteTicks(max)
      expect(ticks.at(-1)).toBeGreaterThanOrEqual(max)
      expect(ticks.length).toBeLessThanOrEqual(5)
      for (const t of ticks) expect(formatBytes(t)).toMatch(/^\d+ (B|KiB|MiB|GiB)$/)
    }
  })
})
