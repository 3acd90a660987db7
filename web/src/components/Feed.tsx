import { formatBytes, formatInt, formatTime, shortAddr } from '../lib/format'
import type { FeedItem } from '../lib/live'
import { href } from '../lib/router'
import { Addr, Empty } from './ui'

/** datasetOf turns a receipt's bytes32 info hash into the catalog's 20-byte one. */
export function datasetOf(infoHash32: string | undefined): string {
  if (!infoHash32) return ''
  const h = infoHash32.toLowerCase()
  return /^0x[0-9a-f]{64}$/.test(h) && h.endsWith('0'.repeat(24)) ? h.slice(0, 42) : h
}

export function FeedList({ items, limit, connected }: { items: FeedItem[]; limit?: number; connected: boolean }) {
  const shown = limit ? items.slice(0, limit) : items
  if (shown.length === 0)
    return (
      <Empty>
        {connected ? 'Waiting for events: receipts appear here as they are verified, batches as they settle.' : 'Connecting to the live events…'}
      </Empty>
    )
  return (
    <ol className="divide-y divide-slate-100" aria-live="polite">
      {shown.map((it) =>
        it.kind === 'receipt' ? (
          <li key={it.key} data-testid="feed-receipt" className="flex flex-wrap items-baseline gap-x-2 gap-y-1 py-2 text-sm">
            <span className="inline-flex h-5 items-center rounded bg-emerald-50 px-1.5 text-xs font-medium text-emerald-800">receipt</span>
            <span className="font-medium tabular-nums">{formatBytes(it.record.receipt?.pieceSize)}</span>
            <span className="text-slate-600">
              piece {formatInt(it.record.receipt?.pieceIndex)} of{' '}
              <a className="font-mono text-indigo-700 hover:underline" href={href.dataset(datasetOf(it.record.receipt?.infoHash))}>
                {shortAddr(datasetOf(it.record.receipt?.infoHash))}
              </a>
            </span>
            <span className="inline-flex flex-wrap items-center gap-1 text-slate-600">
              <Addr value={it.record.receipt?.sender} link copy={false} /> <span aria-label="to">→</span> <Addr value={it.record.receipt?.receiver} link copy={false} />
            </span>
            <span className="ml-auto text-xs whitespace-nowrap text-slate-400">{formatTime(it.record.acceptedAt)}</span>
          </li>
        ) : (
          <li key={it.key} data-testid="feed-batch" className="flex flex-wrap items-baseline gap-x-2 gap-y-1 py-2 text-sm">
            <span className="inline-flex h-5 items-center rounded bg-indigo-50 px-1.5 text-xs font-medium text-indigo-800">batch</span>
            <span className="font-medium">#{it.batch.id ?? '0'} settled</span>
            <span className="text-slate-600">
              {formatInt(it.batch.receiptCount)} receipts · {formatInt(it.batch.agentCount)} agents · {formatBytes(it.batch.totalBytes)}
            </span>
            <span className="inline-flex flex-wrap items-center gap-1 text-slate-600">
              tx <Addr value={it.batch.txHash} /> · block {formatInt(it.batch.blockNumber)} · gas {formatInt(it.batch.gasUsed)} · root <Addr value={it.batch.root} />
            </span>
            <span className="ml-auto text-xs whitespace-nowrap text-slate-400">{formatTime(it.batch.settledAt)}</span>
          </li>
        ),
      )}
    </ol>
  )
}
