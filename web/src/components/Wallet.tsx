// Connect a browser wallet (EIP-1193), see its standing, and register it:
// the wallet personal_signs the registration message and the gateway's
// POST /v1/agents answers with the passkey, shown here once.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import type { Address } from 'viem'
import { errorMessage, getAgent, isNotFound, registerAgent } from '../lib/api'
import { formatRatio } from '../lib/format'
import { agentFromApi, downloaded, uploaded } from '../lib/live'
import { useLive } from '../lib/LiveProvider'
import { href } from '../lib/router'
import type { Agent, RegisterAgentResponse } from '../lib/types'
import { injectedProvider } from '../lib/injected'
import { Addr, Bytes, Button, Code, CopyButton } from './ui'

type Standing = { status: 'idle' } | { status: 'loading' } | { status: 'registered'; agent: Agent } | { status: 'unregistered' } | { status: 'error'; error: string }

interface WalletValue {
  address?: Address
  connecting: boolean
  error?: string
  standing: Standing
  registering: boolean
  registration?: RegisterAgentResponse
  connect: () => void
  register: () => void
  disconnect: () => void
  dismissPasskey: () => void
}

const WalletContext = createContext<WalletValue | null>(null)

function useWallet(): WalletValue {
  const v = useContext(WalletContext)
  if (!v) throw new Error('useWallet outside WalletProvider')
  return v
}

export function WalletProvider({ children }: { children: ReactNode }) {
  const { chain, upsertAgent, state, dispatch } = useLive()
  const [address, setAddress] = useState<Address>()
  const [connecting, setConnecting] = useState(false)
  const [registering, setRegistering] = useState(false)
  const [error, setError] = useState<string>()
  const [standing, setStanding] = useState<Standing>({ status: 'idle' })
  const [registration, setRegistration] = useState<RegisterAgentResponse>()

  // The agents list, once fully loaded, already says whether an address is
  // registered: ask the gateway only about a listed one (fresh figures) or
  // when the list is incomplete, so an unregistered wallet costs no 404.
  const agentsLoad = state.agentsLoad
  const listComplete = agentsLoad.status === 'ready' && !agentsLoad.value.truncated
  const listed = address ? Boolean(state.agents[address.toLowerCase()]) : false
  const loadStanding = useCallback(
    async (a: Address, askGateway: boolean) => {
      if (!askGateway) {
        setStanding({ status: 'unregistered' })
        return
      }
      setStanding((s) => (s.status === 'registered' ? s : { status: 'loading' }))
      try {
        const agent = await getAgent(a)
        upsertAgent(agent)
        setStanding({ status: 'registered', agent })
      } catch (e) {
        setStanding(isNotFound(e) ? { status: 'unregistered' } : { status: 'error', error: errorMessage(e) })
      }
    },
    [upsertAgent],
  )

  const listKnown = agentsLoad.status !== 'loading'
  useEffect(() => {
    if (!address) setStanding({ status: 'idle' })
    else if (!listKnown) setStanding({ status: 'loading' })
    else void loadStanding(address, listed || !listComplete)
    // A registration elsewhere (an "agent" event) makes the address listed: read it then.
  }, [address, listKnown, listed, listComplete, loadStanding])

  // The wallet may switch accounts.
  useEffect(() => {
    const p = injectedProvider()
    if (!p || !address) return
    const onAccounts = (accounts: readonly string[]) => {
      setRegistration(undefined)
      setAddress(accounts[0] ? (accounts[0] as Address) : undefined)
    }
    p.on?.('accountsChanged', onAccounts)
    return () => p.removeListener?.('accountsChanged', onAccounts)
  }, [address])

  const connect = useCallback(() => {
    const p = injectedProvider()
    setError(undefined)
    if (!p) {
      setError('No browser wallet found (window.ethereum). Install an EIP-1193 wallet such as MetaMask, or use `pbts register` on the command line.')
      return
    }
    setConnecting(true)
    import('../lib/wallet')
      .then((w) => w.connectWallet(p))
      .then((a) => setAddress(a))
      .catch((e: unknown) => setError(`The wallet did not connect: ${errorMessage(e)}`))
      .finally(() => setConnecting(false))
  }, [])

  const register = useCallback(() => {
    const p = injectedProvider()
    if (!p || !address) return
    setError(undefined)
    const cs = chain.value
    if (!cs?.chainId || !cs.contract) {
      setError(`Cannot build the registration message: the chain status (chain id, tracker contract) is unavailable${chain.status === 'error' ? ` (${chain.error})` : ''}.`)
      return
    }
    const { chainId, contract } = cs
    setRegistering(true)
    import('../lib/wallet')
      .then((w) => w.signRegistration(p, address, chainId, contract))
      .then((body) => registerAgent({ address: body.address, timestamp: body.timestamp, signature: body.signature }))
      .then((resp) => {
        setRegistration(resp)
        if (resp.agent) {
          // On the agents table at once (the gateway's "agent" event follows).
          dispatch({ type: 'agent', agent: resp.agent })
          upsertAgent(resp.agent)
          setStanding({ status: 'registered', agent: resp.agent })
        } else void loadStanding(address, true)
      })
      .catch((e: unknown) => setError(`Registration failed: ${errorMessage(e)}`))
      .finally(() => setRegistering(false))
  }, [address, chain, upsertAgent, loadStanding, dispatch])

  const disconnect = useCallback(() => {
    setAddress(undefined)
    setRegistration(undefined)
    setError(undefined)
  }, [])

  // Keep the standing live: the agents map follows the events.
  const live = address ? state.agents[address.toLowerCase()] : undefined
  const liveStanding: Standing = useMemo(() => {
    if (standing.status !== 'registered' || !live) return standing
    return { status: 'registered', agent: { ...standing.agent, ...fromFigures(live) } }
  }, [standing, live])

  const value: WalletValue = {
    address,
    connecting,
    error,
    standing: liveStanding,
    registering,
    registration,
    connect,
    register,
    disconnect,
    dismissPasskey: () => setRegistration(undefined),
  }
  return <WalletContext.Provider value={value}>{children}</WalletContext.Provider>
}

function fromFigures(f: ReturnType<typeof agentFromApi>): Agent {
  return {
    address: f.address,
    settledUploadBytes: f.settledUp.toString(),
    settledDownloadBytes: f.settledDown.toString(),
    pendingUploadBytes: f.pendingUp.toString(),
    pendingDownloadBytes: f.pendingDown.toString(),
    ratio: f.ratio,
    ratioInfinite: f.ratioInfinite,
    canLeech: f.canLeech,
    leechRefusal: f.leechRefusal,
  }
}

/** WalletButton sits in the top bar. */
export function WalletButton() {
  const w = useWallet()
  if (w.address)
    return (
      <button
        type="button"
        onClick={w.disconnect}
        title="Disconnect"
        className="inline-flex items-center gap-1.5 rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-mono text-xs text-slate-700 hover:bg-slate-50"
      >
        <span className="h-2 w-2 rounded-full bg-emerald-500" aria-hidden />
        {`${w.address.slice(0, 6)}…${w.address.slice(-4)}`}
      </button>
    )
  return (
    <Button data-testid="connect-wallet" onClick={w.connect} disabled={w.connecting}>
      {w.connecting ? 'Connecting…' : 'Connect wallet'}
    </Button>
  )
}

function StandingText({ standing }: { standing: Standing }) {
  switch (standing.status) {
    case 'idle':
      return null
    case 'loading':
      return <span className="text-slate-500">checking standing…</span>
    case 'unregistered':
      return <span>not registered with this tracker</span>
    case 'error':
      return <span className="text-red-700">standing unavailable: {standing.error}</span>
    case 'registered': {
      const f = agentFromApi(standing.agent)
      return (
        <span>
          registered · {f.canLeech ? 'allowed to leech' : 'blocked'} · ratio {formatRatio(f.ratio, f.ratioInfinite)} · ↑ <Bytes value={uploaded(f)} /> · ↓{' '}
          <Bytes value={downloaded(f)} />
          {!f.canLeech && f.leechRefusal && <span className="block text-xs text-red-700">{f.leechRefusal}</span>}
        </span>
      )
    }
  }
}

/** WalletPanel shows under the top bar while a wallet is connected (or failed to). */
export function WalletPanel() {
  const w = useWallet()
  if (!w.address && !w.error) return null
  const reg = w.registration
  return (
    <div className="border-b border-slate-200 bg-indigo-50/60">
      <div className="mx-auto flex max-w-7xl flex-col gap-3 px-4 py-3 text-sm">
        {w.address && (
          <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
            <span className="text-xs font-medium tracking-wide text-slate-500 uppercase">Your wallet</span>
            <Addr value={w.address} full testid="wallet-address" />
            <span data-testid="wallet-standing" className="min-w-0 break-words text-slate-800">
              <StandingText standing={w.standing} />
            </span>
            {w.standing.status === 'registered' && (
              <a className="text-indigo-700 hover:underline" href={href.agent(w.address)}>
                your page →
              </a>
            )}
            {w.standing.status === 'unregistered' && (
              <Button data-testid="register-wallet" onClick={w.register} disabled={w.registering}>
                {w.registering ? 'Sign in your wallet…' : 'Register this wallet'}
              </Button>
            )}
          </div>
        )}
        {w.error && (
          <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 break-words text-red-800">
            {w.error}
          </p>
        )}
        {reg && reg.alreadyRegistered && (
          <p className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-amber-900">
            This address was already registered: no new passkey is issued (a passkey is shown only once). Rotate it with a signed rotation (RotatePasskey) if it was lost.
          </p>
        )}
        {reg && reg.passkey && (
          <div className="rounded-lg border border-amber-300 bg-amber-50 p-3">
            <p className="font-semibold text-amber-900">Registered. Your passkey — shown only this once:</p>
            <div className="mt-2 flex flex-wrap items-center gap-2">
              <code data-testid="wallet-passkey" className="rounded bg-white px-2 py-1 font-mono text-sm break-all text-slate-900 ring-1 ring-amber-200">
                {reg.passkey}
              </code>
              <CopyButton text={reg.passkey} label="Copy passkey" />
            </div>
            <p className="mt-2 text-xs text-amber-900">
              It is a secret: anyone who has it downloads (and spends your ratio) as you. Keep it somewhere safe; the tracker stores only its hash and will not show it again.
            </p>
            {reg.announceUrl && (
              <div className="mt-2">
                <p className="mb-1 text-xs text-amber-900">Announce URL (contains the passkey):</p>
                <Code copy>{reg.announceUrl}</Code>
              </div>
            )}
            <button type="button" onClick={w.dismissPasskey} className="mt-2 text-xs font-medium text-amber-900 underline">
              I have saved it — hide
            </button>
          </div>
        )}
      </div>
    </div>
  )
}
