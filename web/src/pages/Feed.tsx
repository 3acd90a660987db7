import { useState } from 'react'
import { FeedList } from '../components/Feed'
import { Badge, Card, PageTitle } from '../components/ui'
import { FEED_MAX } from '../lib/live'
import { useLive } from '../lib/LiveProvider'

export function Feed() {
  const { state } = useLive()
  const [kind, setKind] = useState<'all' | 'receipt' | 'batch'>('all')
  const items = kind === 'all' ? state.feed : state.feed.filter((f) => f.kind === kind)
  return (
    <>
      <PageTitle title="Live feed" sub={`Receipts as the receipts service verifies them, batches as they settle on chain (the latest ${FEED_MAX}, since this page opened).`}>
        {state.connected ? <Badge tone="green">live</Badge> : <Badge tone="amber">reconnecting…</Badge>}
      </PageTitle>
      <Card
        actions={
          <div role="group" aria-label="Show" className="inline-flex overflow-hidden rounded-md border border-slate-300 text-xs">
            {(['all', 'receipt', 'batch'] as const).map((k) => (
              <button
                key={k}
                type="button"
                aria-pressed={kind === k}
                onClick={() => setKind(k)}
                className={`px-2.5 py-1 ${kind === k ? 'bg-slate-800 text-white' : 'bg-white text-slate-700 hover:bg-slate-50'}`}
              >
                {k === 'all' ? 'all' : `${k}s`}
              </button>
            ))}
          </div>
        }
      >
        <FeedList items={items} connected={state.connected} />
      </Card>
    </>
  )
}
