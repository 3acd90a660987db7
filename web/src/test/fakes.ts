// Test doubles: a routed fetch and an EventSource the test drives.
import { vi } from 'vitest'

export type Route = (url: URL, init?: RequestInit) => Response | Promise<Response> | undefined

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

export const notFound = (message = 'Not Found') => json({ code: 5, message, details: [] }, 404)

/** mockFetch routes fetch calls by "METHOD /path"; unrouted calls get a 404. */
export function mockFetch(routes: Record<string, Route | unknown>) {
  const calls: { method: string; path: string; url: URL; body?: string }[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, 'http://localhost')
    const method = (init?.method ?? 'GET').toUpperCase()
    calls.push({ method, path: url.pathname, url, body: typeof init?.body === 'string' ? init.body : undefined })
    const r = routes[`${method} ${url.pathname}`]
    if (r === undefined) return notFound()
    if (typeof r === 'function') return (await (r as Route)(url, init)) ?? notFound()
    return json(r)
  })
  vi.stubGlobal('fetch', fn)
  return { fn, calls }
}

export class FakeEventSource {
  static instances: FakeEventSource[] = []
  url: string
  onopen: ((e: Event) => void) | null = null
  onerror: ((e: Event) => void) | null = null
  closed = false
  private listeners = new Map<string, Set<(e: MessageEvent<string>) => void>>()
  constructor(url: string) {
    this.url = url
    FakeEventSource.instances.push(this)
  }
  addEventListener(kind: string, fn: (e: MessageEvent<string>) => void) {
    if (!this.listeners.has(kind)) this.listeners.set(kind, new Set())
    this.listeners.get(kind)!.add(fn)
  }
  removeEventListener(kind: string, fn: (e: MessageEvent<string>) => void) {
    this.listeners.get(kind)?.delete(fn)
  }
  close() {
    this.closed = true
  }
  open() {
    this.onopen?.(new Event('open'))
  }
  emit(kind: string, data: unknown) {
    const e = new MessageEvent<string>(kind, { data: typeof data === 'string' ? data : JSON.stringify(data) })
    for (const fn of this.listeners.get(kind) ?? []) fn(e)
  }
}

export function installEventSource() {
  FakeEventSource.instances = []
  vi.stubGlobal('EventSource', FakeEventSource)
  return () => FakeEventSource.instances.at(-1)
}
