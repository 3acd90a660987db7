import { formatBytes, formatInt, formatTime, stateLabel } from '../lib/format'
import type { Batch } from '../lib/types'
import { Addr, Badge, Empty, Table, td, th } from './ui'

export function BatchState({ state }: { state?: string }) {
  const l = stateLabel(state)
  return <Badge tone={l === 'settled' ? 'green' : l === 'sent' ? 'amber' : 'slate'}>{l}</Badge>
}

export function BatchesTable({ batches }: { batches: Batch[] }) {
  if (batches.length === 0) return <Empty>No batches yet: receipts are settled on chain in batches as they come.</Empty>
  return (
    <Table label="Batches">
      <thead>
        <tr>
          <th className={th}>Batch</th>
          <th className={th}>State</th>
          <th className={`${th} text-right`}>Receipts</th>
          <th className={`${th} text-right`}>Agents</th>
          <th className={`${th} text-right`}>Bytes</th>
          <th className={th}>Merkle root</th>
          <th className={th}>Transaction</th>
          <th className={`${th} text-right`}>Block</th>
          <th className={`${th} text-right`}>Gas</th>
          <th className={th}>Settled</th>
        </tr>
      </thead>
      <tbody>
        {batches.map((b) => (
          <tr key={b.id ?? '0'} data-testid={`batch-row-${b.id ?? '0'}`}>
            <td className={`${td} font-medium tabular-nums`}>#{b.id ?? '0'}</td>
            <td className={td}>
              <BatchState state={b.state} />
            </td>
            <td className={`${td} text-right tabular-nums`}>{formatInt(b.receiptCount)}</td>
            <td className={`${td} text-right tabular-nums`}>{formatInt(b.agentCount)}</td>
            <td className={`${td} text-right tabular-nums`} data-bytes={b.totalBytes ?? '0'}>
              {formatBytes(b.totalBytes)}
            </td>
            <td className={td}>
              <Addr value={b.root} />
            </td>
            <td className={td}>
              <Addr value={b.txHash} />
            </td>
            <td className={`${td} text-right tabular-nums`}>{b.blockNumber ? formatInt(b.blockNumber) : '—'}</td>
            <td className={`${td} text-right tabular-nums`}>{b.gasUsed ? formatInt(b.gasUsed) : '—'}</td>
            <td className={`${td} whitespace-nowrap text-slate-600`}>{formatTime(b.settledAt)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  )
}
