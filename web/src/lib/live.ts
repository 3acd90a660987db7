// The dashboard's live state and the pure reducer that applies the gateway's
// events (/v1/events) and the loads to it. No timers here: the provider
// (LiveProvider) feeds it what the EventSource and its fetches deliver.
import { computeRatio, toBig } from './format'
import type { Agent, Batch, ReceiptRecord, ReceiptStats, TrackerInfo } from './types'

export const FEED_MAX = 200
export const BATCHES_MAX = 50
export const BUCKET_MS = 5_000
/** Throughput buckets kept: 15 minutes of 5 s. */
export const BUCKETS_MAX = 180

export interface AgentFigures {
  address: string
  registeredAt?: string
  chainRegistration?: string
  settledUp: bigint
  settledDown: bigint
  pendingUp: bigint
  pendingDown: bigint
  ratio: number
  ratioInfinite: boolean
  canLeech: boolean
  leechRefusal: string
  publishedCount: number
  invitedBy: string
}

export const uploaded = (a: AgentFigures) => a.settledUp + a.pendingUp
export const downloaded = (a: AgentFigures) => a.settledDown + a.pendingDown

/** agentFromApi reads an Agent as protojson sends it (absent fields are zero, false or empty). */
export function agentFromApi(a: Agent): AgentFigures {
  const f: AgentFigures = {
    address: a.address ?? '',
    registeredAt: a.registeredAt,
    chainRegistration: a.chainRegistration,
    settledUp: toBig(a.settledUploadBytes),
    settledDown: toBig(a.settledDownloadBytes),
    pendingUp: toBig(a.pendingUploadBytes),
    pendingDown: toBig(a.pendingDownloadBytes),
    ratio: a.ratio ?? 0,
    ratioInfinite: a.ratioInfinite ?? false,
    canLeech: a.canLeech ?? false,
    leechRefusal: a.leechRefusal ?? '',
    publishedCount: a.publishedCount ?? 0,
    invitedBy: a.invitedBy ?? '',
  }
  return f
}

export interface Stats {
  receiptsAccepted: bigint
  receiptsSettled: bigint
  bytesAccepted: bigint
  bytesSettled: bigint
}

export type FeedItem =
  | { kind: 'receipt'; key: string; record: ReceiptRecord }
  | { kind: 'batch'; key: string; batch: Batch }

export interface Bucket {
  /** Bucket start, ms since the epoch. */
  t: number
  bytes: number
  receipts: number
}

export type Load<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'error'; error: string }

export interface LiveState {
  /** Agents by lowercase address. */
  agents: Record<string, AgentFigures>
  /** The agents table's order (lowercase addresses, newest first). */
  order: string[]
  agentsLoad: Load<{ truncated: boolean }>
  stats: Load<Stats>
  tracker: Load<TrackerInfo>
  batches: Load<Batch[]>
  feed: FeedItem[]
  buckets: Bucket[]
  /** Bumped when the agents list should be fetched again (a batch settled). */
  agentsStale: number
  /** Bumped on a "reset" event: reload everything. */
  reloads: number
  /** Agents (lowercase) whose figures receipts changed since the last reconcile. */
  touched: string[]
  /** Receipts applied since the page loaded. */
  liveReceipts: number
  connected: boolean
}

export const initialLiveState: LiveState = {
  agents: {},
  order: [],
  agentsLoad: { status: 'loading' },
  stats: { status: 'loading' },
  tracker: { status: 'loading' },
  batches: { status: 'loading' },
  feed: [],
  buckets: [],
  agentsStale: 0,
  reloads: 0,
  touched: [],
  liveReceipts: 0,
  connected: false,
}

export type LiveEvent =
  | { type: 'receipt'; record: ReceiptRecord }
  | { type: 'batch'; batch: Batch }
  | { type: 'agent'; agent: Agent }
  | { type: 'reset' }
  | { type: 'connected'; connected: boolean }
  | { type: 'agentsLoaded'; agents: Agent[]; truncated: boolean }
  | { type: 'agentsFailed'; error: string }
  | { type: 'agentsRefreshed'; agents: Agent[] }
  | { type: 'statsLoaded'; stats: ReceiptStats }
  | { type: 'statsFailed'; error: string }
  | { type: 'trackerLoaded'; info: TrackerInfo }
  | { type: 'trackerFailed'; error: string }
  | { type: 'batchesLoaded'; batches: Batch[] }
  | { type: 'batchesFailed'; error: string }
  | { type: 'touchedTaken'; agents: string[] }

const lc = (a: string | undefined) => (a ?? '').toLowerCase()

function withRatio(a: AgentFigures): AgentFigures {
  const r = computeRatio(uploaded(a), downloaded(a))
  return { ...a, ratio: r.ratio, ratioInfinite: r.infinite }
}

/** recordTime is when a receipt was accepted (ms), else when it was signed. */
export function recordTime(r: ReceiptRecord): number {
  const t = r.acceptedAt ? Date.parse(r.acceptedAt) : Number.NaN
  if (!Number.isNaN(t)) return t
  return Number(toBig(r.receipt?.timestamp)) * 1000
}

function addToBuckets(buckets: Bucket[], t: number, bytes: number): Bucket[] {
  const start = Math.floor(t / BUCKET_MS) * BUCKET_MS
  const out = buckets.slice()
  const i = out.findIndex((b) => b.t === start)
  if (i >= 0) out[i] = { ...out[i], bytes: out[i].bytes + bytes, receipts: out[i].receipts + 1 }
  else {
    out.push({ t: start, bytes, receipts: 1 })
    out.sort((a, b) => a.t - b.t)
  }
  const newest = out[out.length - 1].t
  const cutoff = newest - (BUCKETS_MAX - 1) * BUCKET_MS
  return out.filter((b) => b.t >= cutoff)
}

function statsFromApi(s: ReceiptStats): Stats {
  return {
    receiptsAccepted: toBig(s.receiptsAccepted),
    receiptsSettled: toBig(s.receiptsSettled),
    bytesAccepted: toBig(s.bytesAccepted),
    bytesSettled: toBig(s.bytesSettled),
  }
}

function applyReceipt(state: LiveState, record: ReceiptRecord): LiveState {
  const key = lc(record.digest) || `${lc(record.receipt?.sender)}-${lc(record.receipt?.receiver)}-${record.receipt?.infoHash}-${record.receipt?.pieceIndex}`
  if (state.feed.some((f) => f.kind === 'receipt' && f.key === key)) return state // already applied
  const size = BigInt(record.receipt?.pieceSize ?? 0)
  const sender = lc(record.receipt?.sender)
  const receiver = lc(record.receipt?.receiver)
  const agents = { ...state.agents }
  if (agents[sender]) agents[sender] = withRatio({ ...agents[sender], pendingUp: agents[sender].pendingUp + size })
  if (agents[receiver]) agents[receiver] = withRatio({ ...agents[receiver], pendingDown: agents[receiver].pendingDown + size })
  const touched = state.touched.slice()
  for (const a of [sender, receiver]) if (a && !touched.includes(a)) touched.push(a)
  const stats: Load<Stats> =
    state.stats.status === 'ready'
      ? {
          status: 'ready',
          value: {
            ...state.stats.value,
            receiptsAccepted: state.stats.value.receiptsAccepted + 1n,
            bytesAccepted: state.stats.value.bytesAccepted + size,
          },
        }
      : state.stats
  return {
    ...state,
    agents,
    touched,
    stats,
    feed: [{ kind: 'receipt' as const, key, record }, ...state.feed].slice(0, FEED_MAX),
    buckets: addToBuckets(state.buckets, recordTime(record), Number(size)),
    liveReceipts: state.liveReceipts + 1,
  }
}

function applyBatch(state: LiveState, batch: Batch): LiveState {
  const id = batch.id ?? '0'
  const list = state.batches.status === 'ready' ? state.batches.value : []
  const prev = list.find((b) => b.id === id)
  const alreadySettled = prev?.state === 'BATCH_STATE_SETTLED'
  const batches: Load<Batch[]> =
    state.batches.status === 'ready'
      ? { status: 'ready', value: [batch, ...list.filter((b) => b.id !== id)].slice(0, BATCHES_MAX) }
      : state.batches
  const key = `batch-${id}`
  const inFeed = state.feed.some((f) => f.key === key)
  let stats = state.stats
  if (!alreadySettled && !inFeed && batch.state === 'BATCH_STATE_SETTLED' && stats.status === 'ready') {
    stats = {
      status: 'ready',
      value: {
        ...stats.value,
        receiptsSettled: stats.value.receiptsSettled + BigInt(batch.receiptCount ?? 0),
        bytesSettled: stats.value.bytesSettled + toBig(batch.totalBytes),
      },
    }
  }
  return {
    ...state,
    batches,
    stats,
    feed: inFeed ? state.feed : [{ kind: 'batch' as const, key, batch }, ...state.feed].slice(0, FEED_MAX),
    // The batch moved bytes from pending to settled for agents it does not
    // name: fetch the agents list once.
    agentsStale: state.agentsStale + 1,
  }
}

function applyAgent(state: LiveState, agent: Agent): LiveState {
  const k = lc(agent.address)
  if (!k || state.agents[k]) return state
  const tracker: Load<TrackerInfo> =
    state.tracker.status === 'ready'
      ? { status: 'ready', value: { ...state.tracker.value, agents: (toBig(state.tracker.value.agents) + 1n).toString() } }
      : state.tracker
  return {
    ...state,
    agents: { ...state.agents, [k]: agentFromApi(agent) },
    order: state.order.includes(k) ? state.order : [k, ...state.order],
    tracker,
  }
}

/** applyEvent is the live state after one event or load. It never mutates state. */
export function applyEvent(state: LiveState, ev: LiveEvent): LiveState {
  switch (ev.type) {
    case 'receipt':
      return applyReceipt(state, ev.record)
    case 'batch':
      return applyBatch(state, ev.batch)
    case 'agent':
      return applyAgent(state, ev.agent)
    case 'reset':
      return { ...state, reloads: state.reloads + 1 }
    case 'connected':
      return state.connected === ev.connected ? state : { ...state, connected: ev.connected }
    case 'agentsLoaded': {
      const agents: Record<string, AgentFigures> = { ...state.agents }
      const order: string[] = []
      for (const a of ev.agents) {
        const k = lc(a.address)
        if (!k || order.includes(k)) continue
        agents[k] = agentFromApi(a)
        order.push(k)
      }
      return { ...state, agents, order, agentsLoad: { status: 'ready', value: { truncated: ev.truncated } } }
    }
    case 'agentsFailed':
      return { ...state, agentsLoad: { status: 'error', error: ev.error } }
    case 'agentsRefreshed': {
      const agents = { ...state.agents }
      for (const a of ev.agents) {
        const k = lc(a.address)
        if (k) agents[k] = agentFromApi(a)
      }
      return { ...state, agents }
    }
    case 'statsLoaded':
      return { ...state, stats: { status: 'ready', value: statsFromApi(ev.stats) } }
    case 'statsFailed':
      return { ...state, stats: { status: 'error', error: ev.error } }
    case 'trackerLoaded':
      return { ...state, tracker: { status: 'ready', value: ev.info } }
    case 'trackerFailed':
      return { ...state, tracker: { status: 'error', error: ev.error } }
    case 'batchesLoaded':
      return { ...state, batches: { status: 'ready', value: ev.batches.slice(0, BATCHES_MAX) } }
    case 'batchesFailed':
      return { ...state, batches: { status: 'error', error: ev.error } }
    case 'touchedTaken':
      return { ...state, touched: state.touched.filter((a) => !ev.agents.includes(a)) }
  }
}

/** agentList is the agents table, in order. */
export function agentList(state: LiveState): AgentFigures[] {
  return state.order.map((k) => state.agents[k]).filter((a): a is AgentFigures => Boolean(a))
}

/** parseEvent turns an SSE message into a LiveEvent (null when unusable). */
export function parseEvent(kind: string, data: string): LiveEvent | null {
  if (kind === 'reset') return { type: 'reset' }
  let v: unknown
  try {
    v = JSON.parse(data)
  } catch {
    return null
  }
  if (!v || typeof v !== 'object') return null
  switch (kind) {
    case 'receipt':
      return { type: 'receipt', record: v as ReceiptRecord }
    case 'batch':
      return { type: 'batch', batch: v as Batch }
    case 'agent':
      return { type: 'agent', agent: v as Agent }
  }
  return null
}

/**
 * throughputSeries fills the gaps between buckets with zeros, with a zero
 * bucket on either side (so a burst shows as a peak), for the chart.
 */
export function throughputSeries(buckets: Bucket[]): Bucket[] {
  if (buckets.length === 0) return []
  const last = buckets[buckets.length - 1].t + BUCKET_MS
  const start = Math.max(buckets[0].t - BUCKET_MS, last - (BUCKETS_MAX - 1) * BUCKET_MS)
  const by = new Map(buckets.map((b) => [b.t, b]))
  const out: Bucket[] = []
  for (let t = start; t <= last; t += BUCKET_MS) out.push(by.get(t) ?? { t, bytes: 0, receipts: 0 })
  return out
}
