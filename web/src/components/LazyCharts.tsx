import { lazy, Suspense, type ComponentProps } from 'react'
import { Loading } from './ui'

const Throughput = lazy(() => import('./charts').then((m) => ({ default: m.ThroughputChart })))
const Ratio = lazy(() => import('./charts').then((m) => ({ default: m.RatioChart })))

export function ThroughputChart(p: ComponentProps<typeof Throughput>) {
  return (
    <Suspense fallback={<Loading label="Loading the chart…" />}>
      <Throughput {...p} />
    </Suspense>
  )
}

export function RatioChart(p: ComponentProps<typeof Ratio>) {
  return (
    <Suspense fallback={<Loading label="Loading the chart…" />}>
      <Ratio {...p} />
    </Suspense>
  )
}
