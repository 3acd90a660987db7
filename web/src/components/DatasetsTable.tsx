import { formatBytes, formatInt, formatTime, modalityLabel } from '../lib/format'
import { href } from '../lib/router'
import type { Dataset } from '../lib/types'
import { Addr, Badge, Empty, Table, td, th } from './ui'

export function DatasetsTable({ datasets, empty }: { datasets: Dataset[]; empty: string }) {
  if (datasets.length === 0) return <Empty>{empty}</Empty>
  return (
    <Table label="Datasets">
      <thead>
        <tr>
          <th className={th}>Name</th>
          <th className={th}>Modality · tags</th>
          <th className={`${th} text-right`}>Size</th>
          <th className={`${th} text-right`}>Pieces</th>
          <th className={th}>License</th>
          <th className={th}>Publisher</th>
          <th className={`${th} text-right`} title="seeders · leechers · completed">
            Swarm <span className="font-normal normal-case">S · L · C</span>
          </th>
          <th className={th}>Published</th>
        </tr>
      </thead>
      <tbody>
        {datasets.map((d) => {
          const ih = (d.infoHash ?? '').toLowerCase()
          return (
            <tr key={ih} data-testid={`dataset-row-${ih}`} className="hover:bg-slate-50">
              <td className={`${td} max-w-xs whitespace-normal`}>
                <a className="font-medium text-indigo-700 hover:underline" href={href.dataset(ih)}>
                  {d.name || ih}
                </a>
                {d.description && <p className="mt-0.5 line-clamp-2 text-xs text-slate-500">{d.description}</p>}
                <p className="font-mono text-[11px] text-slate-400">{`${ih.slice(0, 10)}…${ih.slice(-6)}`}</p>
              </td>
              <td className={`${td} max-w-[14rem] whitespace-normal`}>
                <div className="flex flex-wrap gap-1">
                  <Badge tone="indigo">{modalityLabel(d.modality)}</Badge>
                  {(d.tags ?? []).map((t) => (
                    <Badge key={t}>{t}</Badge>
                  ))}
                </div>
              </td>
              <td className={`${td} text-right tabular-nums`} data-bytes={d.totalBytes ?? '0'}>
                {formatBytes(d.totalBytes)}
              </td>
              <td className={`${td} text-right tabular-nums`}>
                {formatInt(d.pieceCount)}
                <p className="text-xs text-slate-500">× {formatBytes(d.pieceLength)}</p>
              </td>
              <td className={td}>{d.license || '—'}</td>
              <td className={td}>
                <Addr value={d.publisher} link />
              </td>
              <td className={`${td} text-right tabular-nums whitespace-nowrap`} title={`${formatInt(d.seeders)} seeders, ${formatInt(d.leechers)} leechers, ${formatInt(d.completed)} completed`}>
                <span data-testid="dataset-seeders-count">{formatInt(d.seeders)}</span> · <span data-testid="dataset-leechers-count">{formatInt(d.leechers)}</span> ·{' '}
                <span data-testid="dataset-completed-count">{formatInt(d.completed)}</span>
              </td>
              <td className={`${td} whitespace-nowrap text-slate-600`} title={formatTime(d.publishedAt)}>
                {d.publishedAt ? new Date(d.publishedAt).toLocaleDateString() : '—'}
              </td>
            </tr>
          )
        })}
      </tbody>
    </Table>
  )
}
