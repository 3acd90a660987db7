import { useEffect, useState } from 'react'

export type Route =
  | { page: 'overview' }
  | { page: 'agents' }
  | { page: 'agent'; address: string }
  | { page: 'datasets' }
  | { page: 'dataset'; infoHash: string }
  | { page: 'chain' }
  | { page: 'feed' }
  | { page: 'notfound'; path: string }

/** parseHash maps #/, #/agents, #/agents/0x…, #/datasets, #/datasets/0x…, #/chain, #/feed to a route. */
export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\?.*$/, '') || '/'
  const parts = path.split('/').filter(Boolean)
  if (parts.length === 0) return { page: 'overview' }
  const [head, arg] = parts
  switch (head) {
    case 'agents':
      return arg ? { page: 'agent', address: decodeURIComponent(arg) } : { page: 'agents' }
    case 'datasets':
      return arg ? { page: 'dataset', infoHash: decodeURIComponent(arg) } : { page: 'datasets' }
    case 'chain':
      return { page: 'chain' }
    case 'feed':
      return { page: 'feed' }
  }
  return { page: 'notfound', path }
}

export const href = {
  overview: '#/',
  agents: '#/agents',
  agent: (a: string) => `#/agents/${a}`,
  datasets: '#/datasets',
  dataset: (ih: string) => `#/datasets/${ih}`,
  chain: '#/chain',
  feed: '#/feed',
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash))
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}
