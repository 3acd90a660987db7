import { useState, type FormEvent } from 'react'
import { BatchesTable } from '../components/Batches'
import { Addr, Badge, Button, Card, Empty, ErrorState, Field, Loading, PageTitle, TextInput } from '../components/ui'
import { useVerifier, VerifyRun } from '../components/Verify'
import { formatBytes, formatDuration, formatEth, formatInt, formatTime, stateLabel } from '../lib/format'
import { useLive } from '../lib/LiveProvider'

export function Chain() {
  const { chain, state } = useLive()
  const cs = chain.value
  return (
    <>
      <PageTitle title="Chain" sub="The ReputationTracker contract that holds the reputation, and the tracker's settlement of receipts into it." />
      {chain.status === 'loading' && !cs && <Loading label="Reading the chain status…" />}
      {chain.status === 'error' && !cs && <ErrorState message={chain.error} onRetry={chain.reload} />}
      {cs && (
        <div className="grid gap-4 lg:grid-cols-2">
          <Card title="Contracts" actions={cs.chainReachable === false ? <Badge tone="red">chain unreachable</Badge> : <Badge tone="green">chain reachable</Badge>}>
            <dl className="grid gap-4">
              <Field label="Chain id">
                <span data-testid="chain-id">{formatInt(cs.chainId)}</span>
                {cs.headBlock && <span className="text-slate-500"> · head block {formatInt(cs.headBlock)}</span>}
              </Field>
              <Field label="ReputationTracker">
                <Addr value={cs.contract} full testid="chain-contract" />
              </Field>
              <Field label="RepFactory">
                {cs.factory ? <Addr value={cs.factory} full testid="chain-factory" /> : <span data-testid="chain-factory" className="text-slate-500">not named by the operator (chainwriter --factory)</span>}
              </Field>
              <Field label="Referrer chain (nearest first)">
                {cs.referrers && cs.referrers.length > 0 ? (
                  <ol data-testid="chain-referrers" className="list-decimal space-y-1 pl-5">
                    {cs.referrers.map((r) => (
                      <li key={r}>
                        <Addr value={r} full />
                      </li>
                    ))}
                  </ol>
                ) : (
                  <span data-testid="chain-referrers" className="text-slate-500">
                    none: a first-generation tracker
                  </span>
                )}
              </Field>
              {cs.initialCredit && <Field label="Initial credit">{formatBytes(cs.initialCredit)} for a new agent</Field>}
            </dl>
          </Card>
          <Card title="Tracker signer and settlement">
            <dl className="grid gap-4 sm:grid-cols-2">
              <div className="sm:col-span-2">
                <Field label="Signer (tracker authority)">
                  <Addr value={cs.signer} full testid="chain-signer" />
                </Field>
              </div>
              <Field label="Balance">
                <span data-testid="chain-balance">{formatEth(cs.balanceWei)}</span>
              </Field>
              <Field label="Nonce">
                next {formatInt(cs.nextNonce)} · on chain {formatInt(cs.chainNonce)}
              </Field>
              <Field label="Last settled batch">
                <span data-testid="chain-last-settled">#{cs.lastSettledBatchId ?? '0'}</span>
                <span className="text-slate-500">
                  {' '}
                  (contract: #{cs.lastBatchIdOnChain ?? '0'}, recorded: #{cs.lastBatchId ?? '0'})
                </span>
              </Field>
              <Field label="Lag">
                <span data-testid="chain-lag">
                  {formatInt(cs.pendingReceipts)} receipts pending
                  {cs.pendingReceipts && cs.pendingReceipts !== '0' ? `, oldest ${formatDuration(cs.oldestPendingAge)}` : ''}
                </span>
              </Field>
              <Field label="Registrations pending">{formatInt(cs.pendingRegistrations)}</Field>
              <Field label="Confirmations">{formatInt(cs.confirmations)}</Field>
              <Field label="Observed">{formatTime(cs.observedAt)}</Field>
              {cs.problem && (
                <div className="sm:col-span-2">
                  <ErrorState title="The writer is not settling" message={cs.problem} />
                </div>
              )}
            </dl>
            {cs.inFlight && cs.inFlight.length > 0 && (
              <div className="mt-4">
                <p className="mb-1 text-xs font-medium tracking-wide text-slate-500 uppercase">In flight</p>
                <ul className="space-y-1 text-sm">
                  {cs.inFlight.map((t) => (
                    <li key={`${t.nonce ?? '0'}-${t.txHash ?? ''}`} className="flex flex-wrap items-center gap-2">
                      <span className="tabular-nums">nonce {formatInt(t.nonce)}</span>
                      <Badge>{stateLabel(t.kind)}</Badge>
                      <Badge tone="amber">{stateLabel(t.state)}</Badge>
                      {t.batchId && <span>batch #{t.batchId}</span>}
                      <Addr value={t.txHash} />
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </Card>
        </div>
      )}
      <Card title="Batches" className="mt-4">
        {state.batches.status === 'loading' && <Loading />}
        {state.batches.status === 'error' && <ErrorState message={state.batches.error} />}
        {state.batches.status === 'ready' && <BatchesTable batches={state.batches.value} />}
      </Card>
      <VerifyByDigest />
    </>
  )
}

function VerifyByDigest() {
  const v = useVerifier()
  const [input, setInput] = useState('')
  const [digest, setDigest] = useState('')
  const valid = /^0x[0-9a-fA-F]{64}$/.test(input.trim())
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (valid) setDigest(input.trim().toLowerCase())
  }
  return (
    <Card title="Verify a receipt in the browser" className="mt-4">
      {!v.ready ? (
        <Empty>On-chain verification is off: {v.why}.</Empty>
      ) : (
        <>
          <p className="mb-3 text-sm text-slate-600">
            Recomputes the receipt's digest and its Merkle root here, then reads batchRoot(batchId) and calls verifyReceipt on the contract through the chain's RPC.
          </p>
          <form onSubmit={submit} className="flex flex-wrap gap-2">
            <TextInput value={input} onChange={(e) => setInput(e.target.value)} placeholder="receipt digest, 0x + 64 hex" aria-label="receipt digest" className="flex-1 font-mono" />
            <Button type="submit" disabled={!valid}>
              Verify
            </Button>
          </form>
          {digest && (
            <div className="mt-3">
              <VerifyRun key={digest} digest={digest} />
            </div>
          )}
        </>
      )}
    </Card>
  )
}
