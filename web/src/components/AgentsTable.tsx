import { formatRatio } from '../lib/format'
import { downloaded, uploaded, type AgentFigures } from '../lib/live'
import { Addr, Bytes, Empty, Table, td, th } from './ui'
import { RatioBar } from './RatioBar'

export function AgentStatus({ agent }: { agent: AgentFigures }) {
  const allowed = agent.canLeech
  return (
    <div className="max-w-xs whitespace-normal">
      <span
        data-testid="agent-status"
        className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${
          allowed ? 'bg-emerald-50 text-emerald-800 ring-emerald-200' : 'bg-red-50 text-red-800 ring-red-200'
        }`}
      >
        {allowed ? 'allowed' : 'blocked'}
      </span>
      {!allowed && agent.leechRefusal && (
        <p data-testid="agent-reason" className="mt-1 text-xs break-words text-slate-600">
          {agent.leechRefusal}
        </p>
      )}
    </div>
  )
}

function SettledPending({ settled, pending, arrow }: { settled: bigint; pending: bigint; arrow: string }) {
  return (
    <div className="text-xs text-slate-600">
      <span aria-hidden>{arrow} </span>
      <Bytes value={settled} /> settled
      {pending > 0n && (
        <>
          {' '}
          + <Bytes value={pending} className="text-amber-700" /> pending
        </>
      )}
    </div>
  )
}

export function AgentRow({ agent, minRatio, showInvitedBy }: { agent: AgentFigures; minRatio: number; showInvitedBy: boolean }) {
  const addr = agent.address.toLowerCase()
  return (
    <tr data-testid={`agent-row-${addr}`} className="hover:bg-slate-50">
      <td className={td}>
        <Addr value={agent.address} link />
        {agent.chainRegistration === 'CHAIN_REGISTRATION_PENDING' && <p className="mt-0.5 text-xs text-amber-700">on-chain registration pending</p>}
      </td>
      <td className={`${td} text-right`} data-testid="agent-uploaded" data-bytes={uploaded(agent).toString()}>
        <Bytes value={uploaded(agent)} />
      </td>
      <td className={`${td} text-right`} data-testid="agent-downloaded" data-bytes={downloaded(agent).toString()}>
        <Bytes value={downloaded(agent)} />
      </td>
      <td className={td}>
        <SettledPending settled={agent.settledUp} pending={agent.pendingUp} arrow="↑" />
        <SettledPending settled={agent.settledDown} pending={agent.pendingDown} arrow="↓" />
      </td>
      <td className={td}>
        <div className="flex items-center gap-2">
          <span data-testid="agent-ratio" className="w-12 text-right font-medium tabular-nums">
            {formatRatio(agent.ratio, agent.ratioInfinite)}
          </span>
          <RatioBar ratio={agent.ratio} infinite={agent.ratioInfinite} minRatio={minRatio} />
        </div>
      </td>
      <td className={td}>
        <AgentStatus agent={agent} />
      </td>
      {showInvitedBy && (
        <td className={td}>
          <Addr value={agent.invitedBy || undefined} link />
        </td>
      )}
    </tr>
  )
}

export function AgentsTable({ agents, minRatio, showInvitedBy }: { agents: AgentFigures[]; minRatio: number; showInvitedBy: boolean }) {
  if (agents.length === 0) return <Empty>No agents registered yet. Run <code className="font-mono">pbts register</code> or connect a wallet to register.</Empty>
  return (
    <Table label="Agents">
      <thead>
        <tr>
          <th className={th}>Agent</th>
          <th className={`${th} text-right`}>Uploaded</th>
          <th className={`${th} text-right`}>Downloaded</th>
          <th className={th}>Settled / pending</th>
          <th className={th}>
            Ratio{minRatio > 0 && <span className="font-normal normal-case"> (min {formatRatio(minRatio)})</span>}
          </th>
          <th className={th}>May leech</th>
          {showInvitedBy && <th className={th}>Invited by</th>}
        </tr>
      </thead>
      <tbody>
        {agents.map((a) => (
          <AgentRow key={a.address.toLowerCase()} agent={a} minRatio={minRatio} showInvitedBy={showInvitedBy} />
        ))}
      </tbody>
    </Table>
  )
}
