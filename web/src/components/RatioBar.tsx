import { formatRatio, ratioBarModel } from '../lib/format'

/** RatioBar draws a ratio against the tracker's threshold: a fill and a mark at minRatio. */
export function RatioBar({ ratio, infinite, minRatio, className = '' }: { ratio: number; infinite: boolean; minRatio: number; className?: string }) {
  const m = ratioBarModel(ratio, infinite, minRatio)
  const label = `ratio ${formatRatio(ratio, infinite)}${m.markPct !== null ? `, threshold ${formatRatio(minRatio)}` : ''}`
  return (
    <div
      className={`relative h-2 w-28 rounded-full bg-slate-200 ${className}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={m.scaleMax}
      aria-valuenow={infinite ? m.scaleMax : ratio}
      title={label}
      data-testid="ratio-bar"
      data-ok={m.ok ? 'true' : 'false'}
    >
      <div
        data-testid="ratio-fill"
        className={`h-2 rounded-full ${m.ok ? 'bg-emerald-500' : 'bg-red-500'}`}
        style={{ width: `${m.fillPct}%` }}
      />
      {m.markPct !== null && (
        <div data-testid="ratio-mark" className="absolute -top-1 h-4 w-0.5 rounded bg-slate-800" style={{ left: `calc(${m.markPct}% - 1px)` }} />
      )}
    </div>
  )
}
