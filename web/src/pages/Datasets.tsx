import { useEffect, useState, type FormEvent } from 'react'
import { DatasetsTable } from '../components/DatasetsTable'
import { Button, Card, ErrorState, Loading, PageTitle, TextInput } from '../components/ui'
import { errorMessage, searchDatasets, type DatasetQuery } from '../lib/api'
import type { Dataset } from '../lib/types'

export function parseTags(s: string): string[] {
  return Array.from(new Set(s.split(/[\s,]+/).map((t) => t.trim().toLowerCase()).filter(Boolean)))
}

type Results = { status: 'loading' } | { status: 'ready'; datasets: Dataset[]; next: string; more: boolean } | { status: 'error'; error: string }

export function Datasets() {
  const [text, setText] = useState('')
  const [modality, setModality] = useState('')
  const [tags, setTags] = useState('')
  const [query, setQuery] = useState<DatasetQuery>({ pageSize: 50 })
  const [res, setRes] = useState<Results>({ status: 'loading' })
  const [loadingMore, setLoadingMore] = useState(false)

  useEffect(() => {
    const ctl = new AbortController()
    setRes({ status: 'loading' })
    searchDatasets(query, ctl.signal)
      .then((r) => setRes({ status: 'ready', datasets: r.datasets ?? [], next: r.nextPageToken ?? '', more: false }))
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setRes({ status: 'error', error: errorMessage(e) })
      })
    return () => ctl.abort()
  }, [query])

  // Typing searches after a pause; the form's submit searches at once.
  useEffect(() => {
    const t = setTimeout(() => setQuery((q) => next(q, text, modality, tags)), 350)
    return () => clearTimeout(t)
  }, [text, modality, tags])

  const submit = (e: FormEvent) => {
    e.preventDefault()
    setQuery((q) => next(q, text, modality, tags, true))
  }

  const more = () => {
    if (res.status !== 'ready' || !res.next) return
    setLoadingMore(true)
    searchDatasets({ ...query, pageToken: res.next })
      .then((r) => setRes({ status: 'ready', datasets: [...res.datasets, ...(r.datasets ?? [])], next: r.nextPageToken ?? '', more: true }))
      .catch((e: unknown) => setRes({ status: 'error', error: errorMessage(e) }))
      .finally(() => setLoadingMore(false))
  }

  const filtered = Boolean(query.query || query.modality || query.tags?.length)
  return (
    <>
      <PageTitle title="Datasets" sub="The tracker's catalog of private torrents: search by text, modality and tags." />
      <Card>
        <form onSubmit={submit} className="mb-4 grid gap-3 sm:grid-cols-[1fr_auto_1fr_auto]" role="search">
          <TextInput label="Text" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="name, description, tags" />
          <label className="flex flex-col gap-1 text-xs font-medium text-slate-600">
            Modality
            <select value={modality} onChange={(e) => setModality(e.target.value)} className="rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm font-normal text-slate-900">
              <option value="">any</option>
              <option value="MODALITY_VIDEO">video</option>
              <option value="MODALITY_AUDIO">audio</option>
            </select>
          </label>
          <TextInput label="Tags (all must match)" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="asr, en" />
          <div className="flex items-end">
            <Button type="submit" className="w-full">
              Search
            </Button>
          </div>
        </form>
        {res.status === 'loading' && <Loading label="Searching…" />}
        {res.status === 'error' && <ErrorState message={res.error} onRetry={() => setQuery((q) => ({ ...q }))} />}
        {res.status === 'ready' && (
          <>
            <DatasetsTable datasets={res.datasets} empty={filtered ? 'No dataset matches these filters.' : 'The catalog is empty: publish one with `pbts publish`.'} />
            {res.next && (
              <button type="button" disabled={loadingMore} onClick={more} className="mt-3 rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-50 disabled:opacity-50">
                {loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
          </>
        )}
      </Card>
    </>
  )
}

function next(q: DatasetQuery, text: string, modality: string, tags: string, force = false): DatasetQuery {
  const n: DatasetQuery = { pageSize: 50, query: text.trim() || undefined, modality: modality || undefined, tags: parseTags(tags) }
  if (!n.tags?.length) n.tags = undefined
  const same = q.query === n.query && q.modality === n.modality && (q.tags ?? []).join(',') === (n.tags ?? []).join(',')
  return same && !force ? q : n
}
