import { useCallback, useEffect, useRef, useState } from 'react'
import { errorMessage } from './api'

export type FetchState<T> =
  | { status: 'loading'; value?: T }
  | { status: 'ready'; value: T }
  | { status: 'error'; error: string; notFound: boolean; value?: T }

/**
 * useFetch runs load whenever deps change (aborting the previous call) and
 * again on reload(); the last value stays visible while it reloads.
 */
export function useFetch<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): FetchState<T> & { reload: () => void } {
  const [state, setState] = useState<FetchState<T>>({ status: 'loading' })
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load
  const lastTick = useRef(tick)
  useEffect(() => {
    const ctl = new AbortController()
    // A reload keeps what is shown; new deps (another page) do not.
    const keep = lastTick.current !== tick
    lastTick.current = tick
    setState((s) => ({ status: 'loading', value: keep ? s.value : undefined }))
    loadRef
      .current(ctl.signal)
      .then((value) => {
        if (!ctl.signal.aborted) setState({ status: 'ready', value })
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return
        const notFound = typeof e === 'object' && e !== null && (e as { status?: number }).status === 404
        setState((s) => ({ status: 'error', error: errorMessage(e), notFound, value: s.value }))
      })
    return () => ctl.abort()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { ...state, reload }
}

/**
 * useReloadOn calls reload when trigger changes (not on mount), at most once
 * per `every` ms: the first change at once, later ones folded into one call
 * at the end of the interval. The agent page re-reads its receipts so when
 * batches settle (their states change on the server, not in the events).
 */
export function useReloadOn(trigger: unknown, reload: () => void, every: number): void {
  const first = useRef(trigger)
  const last = useRef(0)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => {
    if (Object.is(first.current, trigger)) return
    first.current = trigger
    if (timer.current !== undefined) return // already due
    const wait = Math.max(0, last.current + every - Date.now())
    timer.current = setTimeout(() => {
      timer.current = undefined
      last.current = Date.now()
      reload()
    }, wait)
  }, [trigger, reload, every])
  useEffect(
    () => () => {
      if (timer.current !== undefined) clearTimeout(timer.current)
      timer.current = undefined
    },
    [],
  )
}
