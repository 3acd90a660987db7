import { Empty, PageTitle } from './components/ui'
import { WalletButton, WalletPanel, WalletProvider } from './components/Wallet'
import { LiveProvider, useLive } from './lib/LiveProvider'
import { href, useRoute, type Route } from './lib/router'
import { AgentPage } from './pages/AgentPage'
import { Agents } from './pages/Agents'
import { Chain } from './pages/Chain'
import { DatasetPage } from './pages/DatasetPage'
import { Datasets } from './pages/Datasets'
import { Feed } from './pages/Feed'
import { Overview } from './pages/Overview'

const NAV: { label: string; href: string; pages: Route['page'][] }[] = [
  { label: 'Overview', href: href.overview, pages: ['overview'] },
  { label: 'Agents', href: href.agents, pages: ['agents', 'agent'] },
  { label: 'Datasets', href: href.datasets, pages: ['datasets', 'dataset'] },
  { label: 'Live feed', href: href.feed, pages: ['feed'] },
  { label: 'Chain', href: href.chain, pages: ['chain'] },
]

function LiveDot() {
  const { state } = useLive()
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-slate-500" title={state.connected ? 'receiving live events' : 'reconnecting to /v1/events'}>
      <span className={`h-2 w-2 rounded-full ${state.connected ? 'bg-emerald-500' : 'bg-amber-400'}`} aria-hidden />
      <span className="hidden sm:inline">{state.connected ? 'live' : 'offline'}</span>
    </span>
  )
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />
    case 'agents':
      return <Agents />
    case 'agent':
      return <AgentPage key={route.address.toLowerCase()} address={route.address} />
    case 'datasets':
      return <Datasets />
    case 'dataset':
      return <DatasetPage key={route.infoHash.toLowerCase()} infoHash={route.infoHash} />
    case 'chain':
      return <Chain />
    case 'feed':
      return <Feed />
    case 'notfound':
      return (
        <>
          <PageTitle title="Not found" />
          <Empty>
            Nothing at <code className="font-mono">#{route.path}</code>.{' '}
            <a className="text-indigo-700 hover:underline" href={href.overview}>
              Back to the overview
            </a>
          </Empty>
        </>
      )
  }
}

export function Shell() {
  const route = useRoute()
  return (
    <div className="min-h-screen bg-slate-50 text-slate-900">
      <header className="sticky top-0 z-10 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-3 gap-y-2 px-4 py-2.5 md:flex-nowrap">
          <a href={href.overview} className="flex shrink-0 items-center gap-2 font-semibold text-slate-900">
            <span className="inline-flex h-7 w-7 items-center justify-center rounded-lg bg-indigo-600 text-xs font-bold text-white">PB</span>
            <span className="hidden sm:inline">PBTS</span>
          </a>
          <nav aria-label="Main" className="order-last -mx-1 flex w-full min-w-0 gap-0.5 overflow-x-auto px-1 md:order-none md:w-auto md:flex-1">
            {NAV.map((n) => {
              const active = n.pages.includes(route.page)
              return (
                <a
                  key={n.href}
                  href={n.href}
                  aria-current={active ? 'page' : undefined}
                  className={`rounded-md px-2.5 py-1.5 text-sm whitespace-nowrap ${active ? 'bg-slate-900 text-white' : 'text-slate-600 hover:bg-slate-100 hover:text-slate-900'}`}
                >
                  {n.label}
                </a>
              )
            })}
          </nav>
          <div className="ml-auto flex items-center gap-3">
            <LiveDot />
            <WalletButton />
          </div>
        </div>
      </header>
      <WalletPanel />
      <main className="mx-auto max-w-7xl px-4 py-6">
        <Page route={route} />
      </main>
      <footer className="mx-auto max-w-7xl px-4 pb-8 text-xs text-slate-400">
        PBTS · reputation settled on Ethereum · API: <a className="hover:underline" href="/openapi.json">/openapi.json</a>
      </footer>
    </div>
  )
}

export default function App() {
  return (
    <LiveProvider>
      <WalletProvider>
        <Shell />
      </WalletProvider>
    </LiveProvider>
  )
}
