import { useState, type FormEvent } from 'react'
import { Addr, Badge, Bytes, Button, Card, Code, Empty, ErrorState, Field, Loading, PageTitle, TextInput } from '../components/ui'
import { errorMessage, getDataset, getSwarm, getTorrent, torrentPath } from '../lib/api'
import { formatBytes, formatInt, formatTime, modalityLabel } from '../lib/format'
import { href } from '../lib/router'
import { useFetch } from '../lib/useFetch'

export function DatasetPage({ infoHash }: { infoHash: string }) {
  const ih = infoHash.toLowerCase()
  const ds = useFetch((s) => getDataset(ih, s), [ih])
  const swarm = useFetch((s) => getSwarm(ih, s), [ih])

  if (ds.status === 'loading') return <Loading label="Loading the dataset…" />
  if (ds.status === 'error')
    return (
      <>
        <PageTitle title={<span className="font-mono text-base break-all">{ih}</span>} sub={<a className="text-indigo-700 hover:underline" href={href.datasets}>← catalog</a>} />
        {ds.notFound ? <Empty>No dataset with this info hash is in the catalog.</Empty> : <ErrorState message={ds.error} onRetry={ds.reload} />}
      </>
    )
  const d = ds.value
  const hash = (d.infoHash ?? ih).toLowerCase()
  const sw = swarm.status === 'ready' ? swarm.value : undefined
  return (
    <>
      <PageTitle title={d.name || hash} sub={<a className="text-indigo-700 hover:underline" href={href.datasets}>← catalog</a>}>
        <div className="flex flex-wrap gap-1">
          <Badge tone="indigo">{modalityLabel(d.modality)}</Badge>
          {(d.tags ?? []).map((t) => (
            <Badge key={t}>{t}</Badge>
          ))}
        </div>
      </PageTitle>
      <div className="grid gap-4 lg:grid-cols-3">
        <Card title="Dataset" className="lg:col-span-2">
          {d.description && <p className="mb-4 text-sm whitespace-pre-line text-slate-700">{d.description}</p>}
          <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
            <Field label="Size">
              <Bytes value={d.totalBytes} testid="dataset-size" />
            </Field>
            <Field label="Pieces">
              <span data-testid="dataset-pieces">{formatInt(d.pieceCount)}</span> × {formatBytes(d.pieceLength)}
            </Field>
            <Field label="License">{d.license || '—'}</Field>
            <Field label="Publisher">
              <Addr value={d.publisher} link />
            </Field>
            <Field label="Published">{formatTime(d.publishedAt)}</Field>
            <Field label="Info hash">
              <Addr value={hash} />
            </Field>
          </dl>
        </Card>
        <Card title="Swarm" actions={<button type="button" onClick={swarm.reload} className="text-xs text-indigo-700 hover:underline">refresh</button>}>
          {swarm.status === 'loading' && !sw && <Loading />}
          {swarm.status === 'error' && <ErrorState message={swarm.error} onRetry={swarm.reload} />}
          {sw && (
            <dl className="grid grid-cols-3 gap-3">
              <Field label="Seeders">
                <span data-testid="dataset-seeders" className="text-lg font-semibold">
                  {formatInt(sw.seeders)}
                </span>
              </Field>
              <Field label="Leechers">
                <span data-testid="dataset-leechers" className="text-lg font-semibold">
                  {formatInt(sw.leechers)}
                </span>
              </Field>
              <Field label="Completed">
                <span data-testid="dataset-completed" className="text-lg font-semibold">
                  {formatInt(sw.completed)}
                </span>
              </Field>
            </dl>
          )}
          {sw?.peersHidden && <p className="mt-3 text-xs text-slate-500">Who the peers are is shown only to members of the swarm, on a signed request.</p>}
        </Card>
      </div>
      <TorrentCard infoHash={hash} name={d.name ?? ''} />
    </>
  )
}

function TorrentCard({ infoHash, name }: { infoHash: string; name: string }) {
  const [passkey, setPasskey] = useState('')
  const [busy, setBusy] = useState(false)
  const [msg, setMsg] = useState<{ ok: boolean; text: string }>()
  const origin = window.location.origin
  const file = `${(name || infoHash).replace(/[^A-Za-z0-9._-]+/g, '_')}.torrent`
  const download = (e: FormEvent) => {
    e.preventDefault()
    if (!passkey.trim()) return
    setBusy(true)
    setMsg(undefined)
    getTorrent(infoHash, passkey.trim())
      .then((blob) => {
        const url = URL.createObjectURL(blob)
        const a = document.createElement('a')
        a.href = url
        a.download = file
        document.body.appendChild(a)
        a.click()
        a.remove()
        setTimeout(() => URL.revokeObjectURL(url), 10_000)
        setMsg({ ok: true, text: `Saved ${file} (${formatBytes(blob.size)}), personalised with your announce URL.` })
      })
      .catch((err: unknown) => setMsg({ ok: false, text: errorMessage(err) }))
      .finally(() => setBusy(false))
  }
  return (
    <Card title="Get it" className="mt-4">
      <p className="mb-2 text-sm text-slate-600">A registered agent downloads it with its own client (receipts are signed per verified piece, and the ratio gate applies):</p>
      <Code copy>{`pbts get ${infoHash}`}</Code>
      <p className="mt-3 mb-2 text-sm text-slate-600">or fetches the .torrent, personalised with its announce URL, from the gateway:</p>
      <Code copy>{`curl -s -XPOST ${origin}${torrentPath(infoHash)} -d '{"passkey":"<your passkey>"}' -o ${file}`}</Code>
      <form onSubmit={download} className="mt-4 flex flex-wrap items-end gap-2">
        <TextInput
          label="Or paste your passkey to download here (sent only to this gateway, never stored)"
          labelClassName="min-w-0 flex-1"
          className="font-mono"
          type="password"
          autoComplete="off"
          value={passkey}
          onChange={(e) => setPasskey(e.target.value)}
          placeholder="passkey"
        />
        <Button type="submit" disabled={!passkey.trim() || busy}>
          {busy ? 'Fetching…' : 'Download .torrent'}
        </Button>
      </form>
      {msg && (
        <p role={msg.ok ? 'status' : 'alert'} className={`mt-2 text-sm break-words ${msg.ok ? 'text-emerald-700' : 'text-red-700'}`}>
          {msg.text}
        </p>
      )}
    </Card>
  )
}
