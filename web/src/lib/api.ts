// The REST gateway's client. Paths are relative: the gateway serves the
// dashboard at / (and `npm run dev` proxies /v1 to it).
import type {
  Agent,
  ApiErrorBody,
  Batch,
  ChainStatus,
  Dataset,
  GatewayConfig,
  Invitation,
  ListAgentsResponse,
  ListBatchesResponse,
  ListReceiptsResponse,
  ReceiptRecord,
  ReceiptStats,
  RegisterAgentResponse,
  SearchDatasetsResponse,
  Swarm,
  TrackerInfo,
} from './types'

/** ApiError is a failed call: the gateway's `message` when it sent one. */
export class ApiError extends Error {
  readonly status: number
  readonly code?: number
  constructor(message: string, status: number, code?: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404
}

/** errorMessage is what to show for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}

async function failure(res: Response): Promise<ApiError> {
  let msg = ''
  let code: number | undefined
  try {
    const text = await res.text()
    try {
      const body = JSON.parse(text) as ApiErrorBody
      msg = body.message ?? ''
      code = body.code
    } catch {
      msg = text.trim().slice(0, 200)
    }
  } catch {
    // no body
  }
  if (!msg) msg = `${res.status} ${res.statusText || 'error'}`.trim()
  return new ApiError(msg, res.status, code)
}

async function call(path: string, init?: RequestInit): Promise<Response> {
  let res: Response
  try {
    res = await fetch(path, init)
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError(`cannot reach the gateway (${errorMessage(e)})`, 0)
  }
  if (!res.ok) throw await failure(res)
  return res
}

export async function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await call(path, { signal, headers: { Accept: 'application/json' } })
  return (await res.json()) as T
}

export async function apiPost<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await call(path, {
    method: 'POST',
    signal,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  })
  return (await res.json()) as T
}

function qs(params: Record<string, string | number | string[] | undefined>): string {
  const u = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => x && u.append(k, x))
    else u.set(k, String(v))
  }
  const s = u.toString()
  return s ? `?${s}` : ''
}

const enc = encodeURIComponent

export const getTracker = (s?: AbortSignal) => apiGet<TrackerInfo>('/v1/tracker', s)
export const getReceiptStats = (s?: AbortSignal) => apiGet<ReceiptStats>('/v1/receipts:stats', s)
export const getConfig = (s?: AbortSignal) => apiGet<GatewayConfig>('/v1/config', s)
export const getChainStatus = (s?: AbortSignal) => apiGet<ChainStatus>('/v1/chain/status', s)

export async function getAgent(address: string, s?: AbortSignal): Promise<Agent> {
  const r = await apiGet<{ agent?: Agent }>(`/v1/agents/${enc(address)}`, s)
  return r.agent ?? { address }
}

export async function listInvitations(inviter: string, s?: AbortSignal): Promise<Invitation[]> {
  const r = await apiGet<{ invitations?: Invitation[] }>(`/v1/agents/${enc(inviter)}/invitations`, s)
  return r.invitations ?? []
}

/** MAX_AGENT_PAGES bounds how many pages of 100 agents the table loads. */
export const MAX_AGENT_PAGES = 20

/** listAllAgents pages through the agents (newest first), up to MAX_AGENT_PAGES pages. */
export async function listAllAgents(s?: AbortSignal): Promise<{ agents: Agent[]; truncated: boolean }> {
  const agents: Agent[] = []
  let token = ''
  for (let i = 0; i < MAX_AGENT_PAGES; i++) {
    const r = await apiGet<ListAgentsResponse>(`/v1/agents${qs({ page_size: 100, page_token: token })}`, s)
    agents.push(...(r.agents ?? []))
    token = r.nextPageToken ?? ''
    if (!token) return { agents, truncated: false }
  }
  return { agents, truncated: true }
}

export interface DatasetQuery {
  query?: string
  modality?: string
  tags?: string[]
  publisher?: string
  pageSize?: number
  pageToken?: string
}

export function searchDatasets(q: DatasetQuery, s?: AbortSignal): Promise<SearchDatasetsResponse> {
  return apiGet<SearchDatasetsResponse>(
    `/v1/datasets${qs({
      query: q.query,
      modality: q.modality,
      tags: q.tags,
      publisher: q.publisher,
      page_size: q.pageSize,
      page_token: q.pageToken,
    })}`,
    s,
  )
}

export async function getDataset(infoHash: string, s?: AbortSignal): Promise<Dataset> {
  const r = await apiGet<{ dataset?: Dataset }>(`/v1/datasets/${enc(infoHash)}`, s)
  return r.dataset ?? { infoHash }
}

export const getSwarm = (infoHash: string, s?: AbortSignal) => apiGet<Swarm>(`/v1/datasets/${enc(infoHash)}/swarm`, s)

/** torrentPath is the POST that returns a dataset's .torrent for a passkey. */
export const torrentPath = (infoHash: string) => `/v1/datasets/${infoHash}:torrent`

export async function getTorrent(infoHash: string, passkey: string): Promise<Blob> {
  const res = await call(torrentPath(infoHash), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ passkey }),
  })
  return res.blob()
}

export interface ReceiptQuery {
  agent?: string
  infoHash?: string
  batchId?: string
  pageSize?: number
  pageToken?: string
}

export function listReceipts(q: ReceiptQuery, s?: AbortSignal): Promise<ListReceiptsResponse> {
  return apiGet<ListReceiptsResponse>(
    `/v1/receipts${qs({
      agent: q.agent,
      info_hash: q.infoHash,
      batch_id: q.batchId,
      page_size: q.pageSize,
      page_token: q.pageToken,
    })}`,
    s,
  )
}

export interface ReceiptHistory {
  /** The latest receipts, oldest first (at most `keep`). */
  records: ReceiptRecord[]
  /** Receipts read in all. */
  total: number
  /** Older receipts were read but not kept (records is the latest `keep`). */
  truncated: boolean
  /** Reading stopped at the page limit: there are newer receipts not read. */
  incomplete: boolean
}

/**
 * receiptHistory reads an agent's receipts. The service lists them in
 * acceptance order, oldest first, so the latest ones come last: it pages
 * through (up to maxPages pages of pageSize) and keeps the latest `keep`.
 */
export async function receiptHistory(
  agent: string,
  opts: { keep?: number; pageSize?: number; maxPages?: number; signal?: AbortSignal } = {},
): Promise<ReceiptHistory> {
  const keep = opts.keep ?? 2000
  const pageSize = opts.pageSize ?? 1000
  const maxPages = opts.maxPages ?? 50
  let records: ReceiptRecord[] = []
  let total = 0
  let token = ''
  for (let i = 0; i < maxPages; i++) {
    const r = await listReceipts({ agent, pageSize, pageToken: token }, opts.signal)
    const page = r.records ?? []
    total += page.length
    records = records.concat(page)
    if (records.length > keep) records = records.slice(records.length - keep)
    token = r.nextPageToken ?? ''
    if (!token) return { records, total, truncated: total > records.length, incomplete: false }
  }
  return { records, total, truncated: true, incomplete: true }
}

export async function getReceipt(digest: string, s?: AbortSignal): Promise<ReceiptRecord> {
  const r = await apiGet<{ record?: ReceiptRecord }>(`/v1/receipts/${enc(digest)}`, s)
  if (!r.record) throw new ApiError('the gateway returned no record', 500)
  return r.record
}

export async function listBatches(pageSize = 20, s?: AbortSignal): Promise<Batch[]> {
  const r = await apiGet<ListBatchesResponse>(`/v1/batches${qs({ page_size: pageSize })}`, s)
  return r.batches ?? []
}

export interface RegistrationBody {
  address: string
  timestamp: number
  signature: string
}

export const registerAgent = (body: RegistrationBody) => apiPost<RegisterAgentResponse>('/v1/agents', body)
