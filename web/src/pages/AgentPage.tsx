import { useEffect, useMemo, useState } from 'react'
import { AgentStatus } from '../components/AgentsTable'
import { DatasetsTable } from '../components/DatasetsTable'
import { RatioChart } from '../components/LazyCharts'
import { RatioBar } from '../components/RatioBar'
import { ReceiptsTable } from '../components/Receipts'
import { Addr, Bytes, Card, Empty, ErrorState, Field, Loading, PageTitle } from '../components/ui'
import { getAgent, listInvitations, receiptHistory, searchDatasets } from '../lib/api'
import { formatRatio, formatTime, stateLabel } from '../lib/format'
import { downloaded, uploaded } from '../lib/live'
import { useLive } from '../lib/LiveProvider'
import { ratioHistory } from '../lib/ratioHistory'
import { href } from '../lib/router'
import type { ReceiptRecord } from '../lib/types'
import { useFetch, useReloadOn } from '../lib/useFetch'

const KEEP = 2000
const PAGE = 50

export function AgentPage({ address }: { address: string }) {
  const { state, minRatio, upsertAgent } = useLive()
  const key = address.toLowerCase()
  const valid = /^0x[0-9a-f]{40}$/.test(key)
  const fetched = useFetch((s) => (valid ? getAgent(key, s) : Promise.reject(new Error(`${address} is not an address (0x + 40 hex)`))), [key])
  useEffect(() => {
    if (fetched.status === 'ready') upsertAgent(fetched.value)
  }, [fetched.status, fetched.value, upsertAgent])
  const agent = state.agents[key]

  if (!agent) {
    if (fetched.status === 'loading') return <Loading label="Loading the agent…" />
    if (fetched.status === 'error')
      return (
        <>
          <PageTitle title={<Addr value={address} full />} />
          {fetched.notFound ? (
            <Empty>This address is not registered with this tracker.</Empty>
          ) : (
            <ErrorState message={fetched.error} onRetry={fetched.reload} />
          )}
        </>
      )
  }
  if (!agent) return <Loading />

  return (
    <>
      <PageTitle title={<Addr value={agent.address} full />} sub={<a className="text-indigo-700 hover:underline" href={href.agents}>← all agents</a>} />
      <div className="grid gap-4 lg:grid-cols-3">
        <Card title="Standing" className="self-start lg:col-span-1">
          <dl className="grid grid-cols-2 gap-3">
            <TotalField label="Uploaded" testid="agent-page-uploaded" total={uploaded(agent)} settled={agent.settledUp} pending={agent.pendingUp} />
            <TotalField label="Downloaded" testid="agent-page-downloaded" total={downloaded(agent)} settled={agent.settledDown} pending={agent.pendingDown} />
            <Field label="Ratio">
              <span data-testid="agent-page-ratio" className="text-lg font-semibold tabular-nums">
                {formatRatio(agent.ratio, agent.ratioInfinite)}
              </span>
              <RatioBar ratio={agent.ratio} infinite={agent.ratioInfinite} minRatio={minRatio} className="mt-1" />
              {minRatio > 0 && <p className="mt-1 text-xs text-slate-500">minimum {formatRatio(minRatio)}</p>}
            </Field>
            <Field label="May leech">
              <AgentStatus agent={agent} />
            </Field>
            <Field label="Registered">{formatTime(agent.registeredAt)}</Field>
            <Field label="On chain">{stateLabel(agent.chainRegistration)}</Field>
            <Field label="Published">{agent.publishedCount} datasets</Field>
            {agent.invitedBy && (
              <Field label="Invited by">
                <Addr value={agent.invitedBy} link />
              </Field>
            )}
          </dl>
        </Card>
        <div className="min-w-0 lg:col-span-2">
          <AgentHistory address={agent.address} />
        </div>
      </div>
      <div className="mt-4">
        <PublishedCard address={agent.address} />
      </div>
      <InvitationsCard address={agent.address} />
    </>
  )
}

function TotalField({ label, testid, total, settled, pending }: { label: string; testid: string; total: bigint; settled: bigint; pending: bigint }) {
  return (
    <Field label={label}>
      <Bytes value={total} testid={testid} className="text-lg font-semibold" />
      <p className="text-xs text-slate-500">
        <Bytes value={settled} /> settled + <Bytes value={pending} /> pending
      </p>
    </Field>
  )
}

function AgentHistory({ address }: { address: string }) {
  const { state, minRatio } = useLive()
  const key = address.toLowerCase()
  const agent = state.agents[key]
  const hist = useFetch((s) => receiptHistory(key, { keep: KEEP, signal: s }), [key])
  const [shown, setShown] = useState(PAGE)
  // A batch event (sent, settled) changes receipts' states: read them again.
  useReloadOn(state.agentsStale, hist.reload, 2000)

  // The fetched receipts plus those the live feed brought since (by digest).
  const records = useMemo(() => {
    const base = hist.value?.records ?? []
    const have = new Set(base.map((r) => r.digest))
    const live: ReceiptRecord[] = []
    for (const f of state.feed) {
      if (f.kind !== 'receipt' || have.has(f.record.digest)) continue
      const r = f.record.receipt
      if (r?.sender?.toLowerCase() === key || r?.receiver?.toLowerCase() === key) live.push(f.record)
    }
    return [...base, ...live.reverse()]
  }, [hist.value, state.feed, key])

  const series = useMemo(
    () => (agent ? ratioHistory(records, address, uploaded(agent), downloaded(agent)) : undefined),
    [records, address, agent],
  )
  const newestFirst = useMemo(() => records.slice().reverse(), [records])

  return (
    <>
      <Card title="Ratio over time">
        {hist.status === 'loading' && !hist.value && <Loading label="Reading the receipts…" />}
        {hist.status === 'error' && <ErrorState message={hist.error} onRetry={hist.reload} />}
        {hist.value && series && (
          <>
            {records.length === 0 ? (
              <Empty>No receipts yet: the ratio is the registration's ({formatRatio(agent?.ratio, agent?.ratioInfinite)}).</Empty>
            ) : hist.value.incomplete ? (
              <Empty>This agent has more receipts than the browser reads ({hist.value.total.toLocaleString()} read); the chart is left out.</Empty>
            ) : (
              <RatioChart points={series.points} minRatio={minRatio} />
            )}
            <p className="mt-2 text-xs text-slate-500">
              Derived from the receipts, walking back from the current totals (settled + pending); ∞ (no line) while nothing was downloaded.
              {hist.value.truncated && !hist.value.incomplete && ` Truncated to the latest ${KEEP.toLocaleString()} of ${hist.value.total.toLocaleString()} receipts.`}
              {series.inconsistent && ' Some figures come from before these receipts (e.g. imported from a referrer tracker): the start is clamped at zero.'}
            </p>
          </>
        )}
      </Card>
      <Card title={`Receipts${records.length ? ` (${records.length.toLocaleString()}${hist.value?.truncated ? ' latest' : ''})` : ''}`} className="mt-4">
        {hist.status === 'loading' && !hist.value && <Loading />}
        {hist.value && (
          <>
            <ReceiptsTable records={newestFirst.slice(0, shown)} agent={address} />
            {newestFirst.length > shown && (
              <button type="button" onClick={() => setShown((n) => n + PAGE)} className="mt-3 rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-50">
                Show {Math.min(PAGE, newestFirst.length - shown)} more
              </button>
            )}
          </>
        )}
      </Card>
    </>
  )
}

function PublishedCard({ address }: { address: string }) {
  const ds = useFetch((s) => searchDatasets({ publisher: address.toLowerCase(), pageSize: 100 }, s), [address.toLowerCase()])
  return (
    <Card title="Datasets published">
      {ds.status === 'loading' && <Loading />}
      {ds.status === 'error' && <ErrorState message={ds.error} onRetry={ds.reload} />}
      {ds.status === 'ready' && <DatasetsTable datasets={ds.value.datasets ?? []} empty="This agent has published no datasets." />}
    </Card>
  )
}

function InvitationsCard({ address }: { address: string }) {
  const inv = useFetch((s) => listInvitations(address.toLowerCase(), s), [address.toLowerCase()])
  if (inv.status !== 'ready' || inv.value.length === 0) return null
  return (
    <Card title="Invitations made" className="mt-4">
      <ul className="divide-y divide-slate-100 text-sm">
        {inv.value.map((i) => (
          <li key={i.invitee} className="flex flex-wrap items-center gap-2 py-2">
            <Addr value={i.invitee} link />
            <span className="text-slate-500">invited {formatTime(i.createdAt)}</span>
            <span className={i.usedAt ? 'text-emerald-700' : 'text-slate-500'}>{i.usedAt ? `registered ${formatTime(i.usedAt)}` : 'not used yet'}</span>
          </li>
        ))}
      </ul>
    </Card>
  )
}
