import { act, renderHook } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useReloadOn } from './useFetch'

describe('useReloadOn', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('does not reload on mount, reloads on the first change at once and folds a burst into one more call', () => {
    const reload = vi.fn()
    const { rerender } = renderHook(({ n }) => useReloadOn(n, reload, 2000), { initialProps: { n: 0 } })
    act(() => vi.advanceTimersByTime(5000))
    expect(reload).not.toHaveBeenCalled()

    rerender({ n: 1 })
    act(() => vi.advanceTimersByTime(0))
    expect(reload).toHaveBeenCalledTimes(1)

    for (let n = 2; n < 10; n++) {
      rerender({ n })
      act(() => vi.advanceTimersByTime(100))
    }
    expect(reload).toHaveBeenCalledTimes(1) // within the interval: waits
    act(() => vi.advanceTimersByTime(2000))
    expect(reload).toHaveBeenCalledTimes(2) // one call for the burst

    act(() => vi.advanceTimersByTime(10000))
    expect(reload).toHaveBeenCalledTimes(2) // nothing changed since
  })

  it('cancels a due reload when unmounted', () => {
    const reload = vi.fn()
    const { rerender, unmount } = renderHook(({ n }) => useReloadOn(n, reload, 2000), { initialProps: { n: 0 } })
    rerender({ n: 1 })
    act(() => vi.advanceTimersByTime(0))
    rerender({ n: 2 })
    unmount()
    act(() => vi.advanceTimersByTime(5000))
    expect(reload).toHaveBeenCalledTimes(1)
  })
})
