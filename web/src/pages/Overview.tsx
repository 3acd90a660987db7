import { AgentsTable } from '../components/AgentsTable'
import { BatchesTable } from '../components/Batches'
import { FeedList } from '../components/Feed'
import { ThroughputChart } from '../components/LazyCharts'
import { Bytes, Card, Empty, ErrorState, Loading, PageTitle, Stat } from '../components/ui'
import { formatBytes, formatInt, formatRatio, toBig } from '../lib/format'
import { agentList, throughputSeries } from '../lib/live'
import { useLive } from '../lib/LiveProvider'
import { href } from '../lib/router'

export function OverviewStats() {
  const { state } = useLive()
  const t = state.tracker
  const s = state.stats
  const agentsFromList = state.agentsLoad.status === 'ready' ? state.order.length : undefined
  return (
    <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
      <Stat
        label="Agents"
        error={t.status === 'error' && agentsFromList === undefined ? t.error : undefined}
        sub={t.status === 'ready' ? `${t.value.registrationPolicy || 'open'} registration` : t.status === 'error' ? 'counted from the agents list' : undefined}
      >
        {t.status === 'ready' ? (
          <span data-testid="overview-agents">{formatInt(t.value.agents)}</span>
        ) : agentsFromList !== undefined && t.status === 'error' ? (
          <span data-testid="overview-agents">{formatInt(agentsFromList)}</span>
        ) : (
          <span className="text-slate-300">…</span>
        )}
      </Stat>
      <Stat label="Datasets" error={t.status === 'error' ? t.error : undefined} sub={t.status === 'ready' ? `${formatBytes(t.value.datasetBytes)} in the catalog` : undefined}>
        {t.status === 'ready' ? <span data-testid="overview-datasets">{formatInt(t.value.datasets)}</span> : <span className="text-slate-300">…</span>}
      </Stat>
      <Stat label="Bytes exchanged" error={s.status === 'error' ? s.error : undefined} sub={s.status === 'ready' ? <>{formatBytes(s.value.bytesSettled)} settled on chain</> : undefined}>
        {s.status === 'ready' ? <Bytes value={s.value.bytesAccepted} testid="overview-bytes" /> : <span className="text-slate-300">…</span>}
      </Stat>
      <Stat
        label="Receipts accepted"
        error={s.status === 'error' ? s.error : undefined}
        sub={s.status === 'ready' ? `${formatInt(s.value.receiptsAccepted - s.value.receiptsSettled > 0n ? s.value.receiptsAccepted - s.value.receiptsSettled : 0n)} not settled yet` : undefined}
      >
        {s.status === 'ready' ? <span data-testid="overview-receipts-accepted">{formatInt(s.value.receiptsAccepted)}</span> : <span className="text-slate-300">…</span>}
      </Stat>
      <Stat label="Receipts settled" error={s.status === 'error' ? s.error : undefined} sub={s.status === 'ready' ? 'in batches on chain' : undefined}>
        {s.status === 'ready' ? <span data-testid="overview-receipts-settled">{formatInt(s.value.receiptsSettled)}</span> : <span className="text-slate-300">…</span>}
      </Stat>
    </div>
  )
}

export function ThroughputCard() {
  const { state } = useLive()
  const series = throughputSeries(state.buckets)
  return (
    <Card title="Throughput" actions={<span className="text-xs text-slate-500">bytes receipted per second, 5 s buckets, since this page opened</span>}>
      {series.length === 0 ? <Empty>No transfers since this page opened. The chart fills as receipts are verified.</Empty> : <ThroughputChart series={series} />}
    </Card>
  )
}

export function TrackerRules() {
  const { state, chain } = useLive()
  const t = state.tracker
  if (t.status === 'loading') return <Loading />
  if (t.status === 'error') return <ErrorState title="The tracker's figures (GET /v1/tracker) are unavailable" message={t.error} />
  const v = t.value
  const credit = v.initialCredit ?? chain.value?.initialCredit
  return (
    <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-3">
      <div>
        <dt className="text-xs text-slate-500">Minimum ratio</dt>
        <dd className="font-medium">{v.minRatio !== undefined ? formatRatio(v.minRatio) : '—'}</dd>
      </div>
      <div>
        <dt className="text-xs text-slate-500">Registration</dt>
        <dd className="font-medium">{v.registrationPolicy || 'open'}</dd>
      </div>
      <div>
        <dt className="text-xs text-slate-500">Initial credit</dt>
        <dd className="font-medium">{credit !== undefined ? formatBytes(credit) : '—'}</dd>
      </div>
      <div>
        <dt className="text-xs text-slate-500">Active swarms</dt>
        <dd className="font-medium">{formatInt(v.activeSwarms)}</dd>
      </div>
      <div>
        <dt className="text-xs text-slate-500">Seeders · leechers</dt>
        <dd className="font-medium">
          {formatInt(v.seeders)} · {formatInt(v.leechers)}
        </dd>
      </div>
      {v.completed !== undefined && (
        <div>
          <dt className="text-xs text-slate-500">Completed</dt>
          <dd className="font-medium">{formatInt(v.completed)}</dd>
        </div>
      )}
      {v.registrationPolicy === 'invite' && (
        <div className="col-span-2 sm:col-span-3">
          <dt className="text-xs text-slate-500">Inviting</dt>
          <dd>
            ratio ≥ {formatRatio(v.inviteMinRatio)} and ≥ {formatBytes(v.inviteMinUploadBytes)} uploaded; {v.invitesPerAgent ?? 0} invitations per agent
          </dd>
        </div>
      )}
      {(v.announceUrl || v.announceBase) && (
        <div className="col-span-2 sm:col-span-3">
          <dt className="text-xs text-slate-500">Announce</dt>
          <dd className="font-mono text-xs break-all">{v.announceUrl || `${v.announceBase}/announce/<passkey>`}</dd>
        </div>
      )}
    </dl>
  )
}

export function AgentsCard({ title = 'Agents' }: { title?: string }) {
  const { state, minRatio } = useLive()
  const agents = agentList(state)
  const t = state.tracker
  const showInvitedBy = (t.status === 'ready' && t.value.registrationPolicy === 'invite') || agents.some((a) => a.invitedBy)
  const l = state.agentsLoad
  return (
    <Card
      title={title}
      actions={
        <span className="text-xs text-slate-500">
          uploaded / downloaded = settled + pending; ratio against the tracker's minimum{minRatio > 0 ? ` ${formatRatio(minRatio)}` : ''}
        </span>
      }
    >
      {l.status === 'loading' && <Loading label="Loading agents…" />}
      {l.status === 'error' && <ErrorState message={l.error} />}
      {l.status === 'ready' && (
        <>
          <AgentsTable agents={agents} minRatio={minRatio} showInvitedBy={showInvitedBy} />
          {l.value.truncated && <p className="mt-2 text-xs text-slate-500">Showing the newest {agents.length} agents.</p>}
        </>
      )}
    </Card>
  )
}

export function Overview() {
  const { state } = useLive()
  const batches = state.batches
  const total = state.stats.status === 'ready' ? toBig(state.stats.value.bytesAccepted) : undefined
  return (
    <>
      <PageTitle title="Network overview" sub={total !== undefined ? `${formatBytes(total)} exchanged between agents, every byte backed by a signed receipt` : 'The tracker, its agents and their reputation on chain'} />
      <OverviewStats />
      <div className="mt-4 grid gap-4 lg:grid-cols-3">
        <div className="min-w-0 lg:col-span-2">
          <ThroughputCard />
        </div>
        <Card title="Tracker">
          <TrackerRules />
        </Card>
      </div>
      <div className="mt-4 grid gap-4 lg:grid-cols-2">
        <Card title="Latest batches" actions={<a className="text-indigo-700 hover:underline" href={href.chain}>chain →</a>}>
          {batches.status === 'loading' && <Loading />}
          {batches.status === 'error' && <ErrorState message={batches.error} />}
          {batches.status === 'ready' && <BatchesTable batches={batches.value.slice(0, 5)} />}
        </Card>
        <Card title="Live feed" actions={<a className="text-indigo-700 hover:underline" href={href.feed}>all events →</a>}>
          <FeedList items={state.feed} limit={8} connected={state.connected} />
        </Card>
      </div>
      <div className="mt-4">
        <AgentsCard />
      </div>
    </>
  )
}
