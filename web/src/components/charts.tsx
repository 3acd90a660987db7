// The charts (recharts), loaded lazily so that the first paint does not wait for them.
import { Area, AreaChart, CartesianGrid, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts'
import { byteTicks, formatBytes, formatRatio } from '../lib/format'
import { BUCKET_MS, type Bucket } from '../lib/live'
import type { RatioPoint } from '../lib/ratioHistory'

const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const dateTime = (t: number) => new Date(t).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

export function ThroughputChart({ series }: { series: Bucket[] }) {
  const data = series.map((b) => ({ t: b.t, bytes: b.bytes, rate: b.bytes / (BUCKET_MS / 1000), receipts: b.receipts }))
  const ticks = byteTicks(Math.max(0, ...data.map((d) => d.rate)))
  return (
    <AreaChart responsive data={data} style={{ width: '100%', height: 220 }} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
      <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
      <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} scale="time" tickFormatter={time} tick={{ fontSize: 11 }} minTickGap={40} />
      <YAxis
        dataKey="rate"
        ticks={ticks}
        domain={[0, ticks.at(-1) ?? 0]}
        interval={0}
        tickFormatter={(v: number) => `${formatBytes(Math.round(v))}/s`}
        tick={{ fontSize: 11 }}
        width={84}
      />
      <Tooltip
        labelFormatter={(t) => time(Number(t))}
        formatter={(v) => [`${formatBytes(Math.round(Number(v)))}/s`, 'throughput']}
      />
      <Area type="monotone" dataKey="rate" stroke="#4f46e5" fill="#c7d2fe" isAnimationActive={false} />
    </AreaChart>
  )
}

export function RatioChart({ points, minRatio }: { points: RatioPoint[]; minRatio: number }) {
  const data = points.map((p) => ({ t: p.t, ratio: p.ratio, up: p.up, down: p.down }))
  const span = points.length ? points[points.length - 1].t - points[0].t : 0
  const tick = span < 86_400_000 ? time : dateTime
  // Early ratios (a credit over a first piece) run high: the axis shows the
  // range that matters around the threshold and now, and clips the rest.
  const last = points.at(-1)?.ratio ?? 0
  const top = Math.max(1, 3 * minRatio, Math.min(1.5 * last, 10))
  return (
    <LineChart responsive data={data} style={{ width: '100%', height: 240 }} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
      <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} scale="time" tickFormatter={tick} tick={{ fontSize: 11 }} minTickGap={50} />
      <YAxis tick={{ fontSize: 11 }} width={44} domain={[0, Math.ceil(top * 2) / 2]} allowDataOverflow tickFormatter={(v: number) => formatRatio(v)} />
      <Tooltip
        labelFormatter={(t) => new Date(Number(t)).toLocaleString()}
        formatter={(v, _n, item) => {
          const p = item.payload as { up: number; down: number }
          return [`${v === null || v === undefined ? '∞' : formatRatio(Number(v))}  (↑ ${formatBytes(p.up)} / ↓ ${formatBytes(p.down)})`, 'ratio']
        }}
      />
      {minRatio > 0 && <ReferenceLine y={minRatio} stroke="#dc2626" strokeDasharray="4 4" label={{ value: `min ${formatRatio(minRatio)}`, fontSize: 11, fill: '#dc2626', position: 'insideTopRight' }} />}
      <Line type="stepAfter" dataKey="ratio" stroke="#4f46e5" dot={false} isAnimationActive={false} connectNulls={false} />
    </LineChart>
  )
}
