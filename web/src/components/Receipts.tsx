import { Fragment, useState } from 'react'
import { formatBytes, formatInt, formatTime, stateLabel } from '../lib/format'
import { href } from '../lib/router'
import type { ReceiptRecord } from '../lib/types'
import { datasetOf } from './Feed'
import { Addr, Badge, Empty, Table, td, th } from './ui'
import { useVerifier, VerifyButton, VerifyRun } from './Verify'

export function ReceiptState({ state }: { state?: string }) {
  const l = stateLabel(state)
  return <Badge tone={l === 'settled' ? 'green' : l === 'batched' ? 'indigo' : 'amber'}>{l}</Badge>
}

/** ReceiptsTable lists receipts (newest first) from the point of view of `agent`, with a verify button on settled ones. */
export function ReceiptsTable({ records, agent }: { records: ReceiptRecord[]; agent?: string }) {
  const [open, setOpen] = useState<Record<string, boolean>>({})
  const v = useVerifier()
  if (records.length === 0) return <Empty>No receipts yet.</Empty>
  const me = agent?.toLowerCase()
  return (
    <>
      {!v.ready && <p className="mb-2 text-xs text-slate-500">On-chain verification is off: {v.why}.</p>}
      <Table label="Receipts">
        <thead>
          <tr>
            <th className={th}>Accepted</th>
            {me && <th className={th}>Direction</th>}
            <th className={th}>Sender → receiver</th>
            <th className={th}>Dataset · piece</th>
            <th className={`${th} text-right`}>Bytes</th>
            <th className={th}>State</th>
            <th className={th}>Batch · block</th>
            <th className={th}>Digest</th>
            <th className={th}>
              <span className="sr-only">Verify</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => {
            const d = r.digest ?? ''
            const settled = r.state === 'SETTLEMENT_STATE_SETTLED'
            const up = me && r.receipt?.sender?.toLowerCase() === me
            return (
              <Fragment key={d}>
                <tr data-testid="receipt-row" data-digest={d} data-state={stateLabel(r.state)}>
                  <td className={`${td} whitespace-nowrap text-slate-600`}>{formatTime(r.acceptedAt)}</td>
                  {me && <td className={td}>{up ? <Badge tone="green">↑ sent</Badge> : <Badge tone="slate">↓ received</Badge>}</td>}
                  <td className={td}>
                    <span className="inline-flex items-center gap-1">
                      <Addr value={r.receipt?.sender} link copy={false} /> → <Addr value={r.receipt?.receiver} link copy={false} />
                    </span>
                  </td>
                  <td className={td}>
                    <a className="font-mono text-[13px] text-indigo-700 hover:underline" href={href.dataset(datasetOf(r.receipt?.infoHash))}>
                      {`${datasetOf(r.receipt?.infoHash).slice(0, 8)}…`}
                    </a>{' '}
                    · {formatInt(r.receipt?.pieceIndex)}
                  </td>
                  <td className={`${td} text-right tabular-nums`} data-bytes={String(r.receipt?.pieceSize ?? 0)}>
                    {formatBytes(r.receipt?.pieceSize)}
                  </td>
                  <td className={td}>
                    <ReceiptState state={r.state} />
                  </td>
                  <td className={`${td} tabular-nums whitespace-nowrap`}>
                    {r.batchId && r.batchId !== '0' ? `#${r.batchId}` : '—'}
                    {r.blockNumber ? ` · ${formatInt(r.blockNumber)}` : ''}
                  </td>
                  <td className={td}>
                    <Addr value={d} />
                  </td>
                  <td className={td}>{settled && v.ready && <VerifyButton onClick={() => setOpen((o) => ({ ...o, [d]: true }))} disabled={open[d]} />}</td>
                </tr>
                {open[d] && (
                  <tr>
                    <td className={`${td} bg-slate-50`} colSpan={me ? 9 : 8}>
                      <div className="max-w-3xl whitespace-normal">
                        <VerifyRun digest={d} />
                      </div>
                    </td>
                  </tr>
                )}
              </Fragment>
            )
          })}
        </tbody>
      </Table>
    </>
  )
}
