// Verify a settled receipt in the browser (see lib/chain.ts).
import { useEffect, useState } from 'react'
import { errorMessage, getReceipt } from '../lib/api'
import type { VerifyOutcome } from '../lib/chain'
import { useLive } from '../lib/LiveProvider'

/** useVerifier says whether the browser can verify on chain, and why not. */
export function useVerifier(): { ready: true; rpcUrl: string; chainId: bigint; contract: string } | { ready: false; why: string } {
  const { config, chain } = useLive()
  if (config.status === 'loading' && !config.value) return { ready: false, why: 'reading the gateway configuration…' }
  if (config.status === 'error' && !config.value) return { ready: false, why: `the gateway configuration is unavailable (${config.error})` }
  const rpcUrl = config.value?.chainRpcUrl ?? ''
  if (!rpcUrl) return { ready: false, why: 'the gateway names no public chain RPC (start it with --public-rpc-url), so the browser cannot read the chain' }
  const cs = chain.value
  if (!cs?.contract || !cs.chainId)
    return { ready: false, why: chain.status === 'error' ? `the chain status is unavailable (${chain.error})` : 'reading the chain status…' }
  return { ready: true, rpcUrl, chainId: BigInt(cs.chainId), contract: cs.contract }
}

export function VerifyButton({ onClick, disabled }: { onClick: () => void; disabled?: boolean }) {
  return (
    <button
      type="button"
      data-testid="verify-receipt"
      onClick={onClick}
      disabled={disabled}
      className="rounded-md border border-indigo-300 bg-white px-2 py-0.5 text-xs font-medium text-indigo-700 hover:bg-indigo-50 disabled:opacity-50"
    >
      Verify
    </button>
  )
}

/** VerifyRun fetches the record (with its proof) and verifies it, once per mount. */
export function VerifyRun({ digest }: { digest: string }) {
  const v = useVerifier()
  const [out, setOut] = useState<VerifyOutcome | { error: string }>()
  const ready = v.ready
  const rpcUrl = v.ready ? v.rpcUrl : ''
  const chainId = v.ready ? v.chainId : 0n
  const contract = v.ready ? v.contract : ''
  useEffect(() => {
    if (!ready) return
    let live = true
    setOut(undefined)
    Promise.all([getReceipt(digest), import('../lib/chain')])
      .then(([rec, c]) => c.verifyReceipt(rec, chainId, contract, c.rpcReader(rpcUrl, contract as `0x${string}`)))
      .then((o) => live && setOut(o))
      .catch((e: unknown) => live && setOut({ error: errorMessage(e) }))
    return () => {
      live = false
    }
  }, [digest, ready, rpcUrl, chainId, contract])

  if (!v.ready) return <p className="text-sm text-slate-600">On-chain verification is off: {v.why}.</p>
  if (!out)
    return (
      <p role="status" className="text-sm text-slate-500">
        Verifying: reading the proof, recomputing the digest and the root, asking the contract…
      </p>
    )
  if ('error' in out)
    return (
      <p data-testid="verify-result" role="alert" className="text-sm text-red-700">
        not verified: the receipt could not be read ({out.error})
      </p>
    )
  return (
    <div className={`rounded-lg border p-3 text-sm ${out.ok ? 'border-emerald-200 bg-emerald-50' : 'border-red-200 bg-red-50'}`}>
      <p data-testid="verify-result" className={`font-medium ${out.ok ? 'text-emerald-800' : 'text-red-800'}`}>
        {out.summary}
      </p>
      <ol className="mt-2 space-y-1">
        {out.steps.map((s) => (
          <li key={s.name} className="flex gap-2 text-xs">
            <span aria-label={s.ok ? 'passed' : 'failed'} className={s.ok ? 'text-emerald-700' : 'text-red-700'}>
              {s.ok ? '✓' : '✗'}
            </span>
            <span className="min-w-0 break-all">
              <span className="font-medium">{s.name}</span>: {s.detail}
            </span>
          </li>
        ))}
      </ol>
    </div>
  )
}
