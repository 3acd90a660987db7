// LiveProvider holds the live state: it loads the agents, the receipt
// totals, the tracker's figures and the latest batches, subscribes to
// /v1/events and applies each event through applyEvent. Fetches happen on
// load, on a "reset" and as consequences of events (a settled batch: the
// agents list once; receipts: the agents they name, once they go quiet),
// never on a timer of their own.
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react'
import { errorMessage, getAgent, getChainStatus, getConfig, getReceiptStats, getTracker, listAllAgents, listBatches } from './api'
import { applyEvent, initialLiveState, parseEvent, type LiveEvent, type LiveState } from './live'
import { useFetch, type FetchState } from './useFetch'
import type { Agent, ChainStatus, GatewayConfig } from './types'

/** RECONCILE_MS is how long after a receipt the agents it names are read again (their gate decision). */
const RECONCILE_MS = 1500
/** More touched agents than this: read the whole list instead. */
const RECONCILE_MAX = 8

export interface LiveContextValue {
  state: LiveState
  dispatch: (ev: LiveEvent) => void
  /** The tracker's minimum ratio (0 while unknown). */
  minRatio: number
  config: FetchState<GatewayConfig>
  chain: FetchState<ChainStatus> & { reload: () => void }
  /** Record an agent read elsewhere (an agent page) so events update it too. */
  upsertAgent: (a: Agent) => void
}

const LiveContext = createContext<LiveContextValue | null>(null)

export function useLive(): LiveContextValue {
  const v = useContext(LiveContext)
  if (!v) throw new Error('useLive outside LiveProvider')
  return v
}

export function LiveProvider({ children, events = true }: { children: ReactNode; events?: boolean }) {
  const [state, dispatch] = useReducer(applyEvent, initialLiveState)
  const stateRef = useRef(state)
  stateRef.current = state

  const loadAgents = useRef<{ running: boolean; again: boolean }>({ running: false, again: false })
  const refreshAgentsList = useCallback(async () => {
    const l = loadAgents.current
    if (l.running) {
      l.again = true
      return
    }
    l.running = true
    try {
      do {
        l.again = false
        try {
          const r = await listAllAgents()
          dispatch({ type: 'agentsLoaded', agents: r.agents, truncated: r.truncated })
        } catch (e) {
          if (stateRef.current.agentsLoad.status !== 'ready') dispatch({ type: 'agentsFailed', error: errorMessage(e) })
        }
      } while (l.again)
    } finally {
      l.running = false
    }
  }, [])

  const refreshStats = useCallback(() => {
    getReceiptStats()
      .then((stats) => dispatch({ type: 'statsLoaded', stats }))
      .catch((e: unknown) => {
        if (stateRef.current.stats.status !== 'ready') dispatch({ type: 'statsFailed', error: errorMessage(e) })
      })
  }, [])

  const refreshTracker = useCallback(() => {
    getTracker()
      .then((info) => dispatch({ type: 'trackerLoaded', info }))
      .catch((e: unknown) => dispatch({ type: 'trackerFailed', error: errorMessage(e) }))
  }, [])

  // Everything, on load and on a "reset" event.
  useEffect(() => {
    void refreshAgentsList()
    refreshStats()
    refreshTracker()
    listBatches(20)
      .then((batches) => dispatch({ type: 'batchesLoaded', batches }))
      .catch((e: unknown) => dispatch({ type: 'batchesFailed', error: errorMessage(e) }))
  }, [state.reloads, refreshAgentsList, refreshStats, refreshTracker])

  // A settled batch moved bytes from pending to settled: the agents once, and the totals.
  useEffect(() => {
    if (state.agentsStale === 0) return
    void refreshAgentsList()
    refreshStats()
  }, [state.agentsStale, refreshAgentsList, refreshStats])

  // Receipts changed agents' figures (applied already); read them again once
  // things are quiet for their gate decision (may it leech, and why not).
  const reconcile = useRef<{ timer?: ReturnType<typeof setTimeout>; running: boolean }>({ running: false })
  const touchedCount = state.touched.length
  const [round, setRound] = useState(0)
  useEffect(() => {
    const r = reconcile.current
    if (touchedCount === 0 || r.running || r.timer) return
    r.timer = setTimeout(() => {
      r.timer = undefined
      const s = stateRef.current
      const take = s.touched
      dispatch({ type: 'touchedTaken', agents: take })
      const known = take.filter((a) => s.agents[a])
      r.running = true
      const done = () => {
        r.running = false
        // Receipts that came during the reads left their agents touched: go again.
        setRound((n) => n + 1)
      }
      refreshStats()
      if (known.length > RECONCILE_MAX) {
        refreshAgentsList().finally(done)
        return
      }
      Promise.allSettled(known.map((a) => getAgent(a)))
        .then((rs) => {
          const agents = rs.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []))
          if (agents.length) dispatch({ type: 'agentsRefreshed', agents })
        })
        .finally(done)
    }, RECONCILE_MS)
  }, [touchedCount, round, refreshAgentsList, refreshStats])

  useEffect(
    () => () => {
      const t = reconcile.current.timer
      if (t) clearTimeout(t)
    },
    [],
  )

  // The live events.
  useEffect(() => {
    if (!events || typeof EventSource === 'undefined') return
    const es = new EventSource('/v1/events')
    const on = (kind: string) => (e: MessageEvent<string>) => {
      const ev = parseEvent(kind, e.data)
      if (ev) dispatch(ev)
    }
    const handlers = (['receipt', 'batch', 'agent', 'reset'] as const).map((k) => [k, on(k)] as const)
    for (const [k, h] of handlers) es.addEventListener(k, h)
    es.onopen = () => dispatch({ type: 'connected', connected: true })
    es.onerror = () => dispatch({ type: 'connected', connected: false })
    return () => {
      for (const [k, h] of handlers) es.removeEventListener(k, h)
      es.close()
    }
  }, [events])

  const config = useFetch(getConfig, [])
  const batchCount = state.batches.status === 'ready' ? state.batches.value.length : 0
  const lastBatch = state.batches.status === 'ready' ? state.batches.value[0]?.id : undefined
  const chain = useFetch(getChainStatus, [lastBatch, batchCount])

  const upsertAgent = useCallback((a: Agent) => dispatch({ type: 'agentsRefreshed', agents: [a] }), [])
  const minRatio = state.tracker.status === 'ready' ? (state.tracker.value.minRatio ?? 0) : 0

  const value = useMemo<LiveContextValue>(
    () => ({ state, dispatch, minRatio, config, chain, upsertAgent }),
    [state, minRatio, config, chain, upsertAgent],
  )
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>
}
