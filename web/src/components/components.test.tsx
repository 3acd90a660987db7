import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { verifyMessage, type EIP1193Provider } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { agentFromApi } from '../lib/live'
import { LiveProvider } from '../lib/LiveProvider'
import { AgentsCard, OverviewStats } from '../pages/Overview'
import { FakeEventSource, installEventSource, json, mockFetch, notFound } from '../test/fakes'
import { AgentRow, AgentsTable } from './AgentsTable'
import { RatioBar } from './RatioBar'
import { ErrorState } from './ui'
import { WalletButton, WalletPanel, WalletProvider } from './Wallet'

afterEach(() => {
  vi.unstubAllGlobals()
  delete window.ethereum
})

const A = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const B = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

const blocked = agentFromApi({
  address: B,
  settledUploadBytes: '1048576',
  pendingUploadBytes: '262144',
  settledDownloadBytes: '2621440',
  pendingDownloadBytes: '524288',
  ratio: 0.4,
  canLeech: false,
  leechRefusal: 'ratio 0.40 (upload 1.25 MiB / download 3 MiB + 1 B) is below 0.50',
})

function inTable(row: React.ReactNode) {
  return render(
    <table>
      <tbody>{row}</tbody>
    </table>,
  )
}

describe('AgentRow', () => {
  it('shows a blocked agent with the tracker’s reason and exact byte counts', () => {
    inTable(<AgentRow agent={blocked} minRatio={0.5} showInvitedBy={false} />)
    const row = screen.getByTestId(`agent-row-${B.toLowerCase()}`)
    const up = within(row).getByTestId('agent-uploaded')
    expect(up).toHaveProperty('textContent', '1.25 MiB')
    expect(up.getAttribute('data-bytes')).toBe('1310720')
    const down = within(row).getByTestId('agent-downloaded')
    expect(down.textContent).toBe('3 MiB')
    expect(down.getAttribute('data-bytes')).toBe('3145728')
    expect(within(row).getByTestId('agent-ratio').textContent).toBe('0.40')
    expect(within(row).getByTestId('agent-status').textContent).toBe('blocked')
    expect(within(row).getByTestId('agent-reason').textContent).toMatch(/is below 0\.50/)
    expect(within(row).getByTestId('ratio-bar').getAttribute('data-ok')).toBe('false')
  })

  it('shows an allowed agent without a reason, ∞ with nothing downloaded', () => {
    const a = agentFromApi({ address: A, settledUploadBytes: '16777216', ratioInfinite: true, canLeech: true })
    inTable(<AgentRow agent={a} minRatio={0.5} showInvitedBy />)
    const row = screen.getByTestId(`agent-row-${A.toLowerCase()}`)
    expect(within(row).getByTestId('agent-status').textContent).toBe('allowed')
    expect(within(row).queryByTestId('agent-reason')).toBeNull()
    expect(within(row).getByTestId('agent-ratio').textContent).toBe('∞')
    expect(within(row).getByTestId('agent-downloaded').getAttribute('data-bytes')).toBe('0')
  })
})

describe('RatioBar', () => {
  it('marks the threshold and fills to the ratio', () => {
    render(<RatioBar ratio={0.25} infinite={false} minRatio={0.5} />)
    expect(screen.getByTestId('ratio-mark').style.left).toBe('calc(50% - 1px)')
    expect(screen.getByTestId('ratio-fill').style.width).toBe('25%')
    expect(screen.getByRole('meter').getAttribute('aria-label')).toBe('ratio 0.25, threshold 0.50')
  })
})

describe('empty and error states', () => {
  it('an empty agents table says so', () => {
    render(<AgentsTable agents={[]} minRatio={0.5} showInvitedBy={false} />)
    expect(screen.getByTestId('empty-state').textContent).toMatch(/No agents registered yet/)
  })

  it('an error shows the message and retries', () => {
    const retry = vi.fn()
    render(<ErrorState message="tracker unavailable" onRetry={retry} />)
    expect(screen.getByRole('alert').textContent).toMatch(/tracker unavailable/)
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }))
    expect(retry).toHaveBeenCalledOnce()
  })
})

const baseRoutes = {
  'GET /v1/config': { chainRpcUrl: '' },
  'GET /v1/chain/status': { chainId: '31337', contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  'GET /v1/batches': { batches: [] },
  'GET /v1/receipts:stats': { receiptsAccepted: '12', receiptsSettled: '8', bytesAccepted: '3145728', bytesSettled: '2097152' },
  'GET /v1/agents': { agents: [{ address: A, settledUploadBytes: '16777216', ratioInfinite: true, canLeech: true }, { address: B, settledUploadBytes: '1048576', settledDownloadBytes: '1048576', ratio: 1, canLeech: true }] },
}

describe('overview figures', () => {
  it('shows the receipt totals, and an error for the card whose endpoint 404s (not a crash)', async () => {
    mockFetch({ ...baseRoutes, 'GET /v1/tracker': () => notFound('Not Found') })
    render(
      <LiveProvider events={false}>
        <OverviewStats />
      </LiveProvider>,
    )
    await waitFor(() => expect(screen.getByTestId('overview-bytes').textContent).toBe('3 MiB'))
    expect(screen.getByTestId('overview-bytes').getAttribute('data-bytes')).toBe('3145728')
    expect(screen.getByTestId('overview-receipts-accepted').textContent).toBe('12')
    expect(screen.getByTestId('overview-receipts-settled').textContent).toBe('8')
    // Datasets come only from /v1/tracker: its card shows the error.
    expect(screen.queryByTestId('overview-datasets')).toBeNull()
    expect(screen.getAllByTestId('stat-error')[0].textContent).toBe('Not Found')
    // Agents fall back to the agents list.
    await waitFor(() => expect(screen.getByTestId('overview-agents').textContent).toBe('2'))
  })

  it('shows the tracker’s counts when it answers', async () => {
    mockFetch({ ...baseRoutes, 'GET /v1/tracker': { agents: '5', datasets: '3', datasetBytes: '1024', minRatio: 0.5 } })
    render(
      <LiveProvider events={false}>
        <OverviewStats />
      </LiveProvider>,
    )
    await waitFor(() => expect(screen.getByTestId('overview-datasets').textContent).toBe('3'))
    expect(screen.getByTestId('overview-agents').textContent).toBe('5')
  })
})

describe('live updates', () => {
  it('a receipt event changes the figures on screen; a batch event reloads the agents once', async () => {
    const last = installEventSource()
    const { calls } = mockFetch({ ...baseRoutes, 'GET /v1/tracker': { agents: '2', minRatio: 0.5 } })
    render(
      <LiveProvider>
        <AgentsCard />
      </LiveProvider>,
    )
    const rowA = await screen.findByTestId(`agent-row-${A.toLowerCase()}`)
    expect(within(rowA).getByTestId('agent-uploaded').getAttribute('data-bytes')).toBe('16777216')
    const es = last() as FakeEventSource
    expect(es.url).toBe('/v1/events')
    act(() => es.open())
    act(() =>
      es.emit('receipt', {
        receipt: { sender: A, receiver: B, pieceSize: 262144, pieceIndex: 3, infoHash: `0x${'11'.repeat(20)}${'0'.repeat(24)}` },
        digest: `0x${'01'.repeat(32)}`,
        state: 'SETTLEMENT_STATE_PENDING',
        acceptedAt: new Date().toISOString(),
      }),
    )
    expect(within(rowA).getByTestId('agent-uploaded').getAttribute('data-bytes')).toBe(String(16777216 + 262144))
    expect(within(rowA).getByTestId('agent-uploaded').textContent).toBe('16.25 MiB')
    const rowB = screen.getByTestId(`agent-row-${B.toLowerCase()}`)
    expect(within(rowB).getByTestId('agent-downloaded').getAttribute('data-bytes')).toBe(String(1048576 + 262144))
    expect(within(rowB).getByTestId('agent-ratio').textContent).toBe('0.80')

    const listCalls = () => calls.filter((c) => c.path === '/v1/agents').length
    const before = listCalls()
    act(() => es.emit('batch', { id: '9', state: 'BATCH_STATE_SETTLED', receiptCount: 1, totalBytes: '262144' }))
    await waitFor(() => expect(listCalls()).toBe(before + 1))
  })
})

function renderWallet() {
  render(
    <LiveProvider events={false}>
      <WalletProvider>
        <WalletButton />
        <WalletPanel />
      </WalletProvider>
    </LiveProvider>,
  )
}

describe('wallet', () => {
  const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' // anvil dev key 1 = B
  const account = privateKeyToAccount(KEY)

  it('connects, finds the wallet unregistered, signs the registration and shows the passkey once', async () => {
    window.ethereum = {
      request: async ({ method, params }: { method: string; params?: unknown }) => {
        if (method === 'eth_requestAccounts') return [account.address]
        if (method === 'personal_sign') {
          const [data] = params as [`0x${string}`]
          return account.signMessage({ message: { raw: data } })
        }
        throw new Error(method)
      },
      on: () => undefined,
      removeListener: () => undefined,
    } as unknown as EIP1193Provider
    let posted: { address: string; timestamp: number; signature: `0x${string}` } | undefined
    mockFetch({
      ...baseRoutes,
      'GET /v1/tracker': { agents: '2', minRatio: 0.5 },
      [`GET /v1/agents/${B}`]: () => notFound('agent not registered'),
      'POST /v1/agents': (_u: URL, init?: RequestInit) => {
        posted = JSON.parse(String(init?.body)) as typeof posted
        return json({ agent: { address: B, settledUploadBytes: '16777216', ratioInfinite: true, canLeech: true }, passkey: 'pk_secret_123', announceUrl: 'http://127.0.0.1:7070/announce/pk_secret_123' })
      },
    })
    renderWallet()
    fireEvent.click(screen.getByTestId('connect-wallet'))
    await waitFor(() => expect(screen.getByTestId('wallet-address').textContent).toBe(B))
    await waitFor(() => expect(screen.getByTestId('wallet-standing').textContent).toMatch(/^not registered/))
    fireEvent.click(screen.getByTestId('register-wallet'))
    await waitFor(() => expect(screen.getByTestId('wallet-passkey').textContent).toBe('pk_secret_123'))
    expect(screen.getByText(/It is a secret/)).toBeTruthy()
    expect(screen.getByTestId('wallet-standing').textContent).toMatch(/^registered/)
    // The body is the registration the tracker verifies.
    expect(posted?.address).toBe(B)
    const message = `PBTS agent registration\nchain: 31337\ntracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\nagent: ${B}\ntimestamp: ${posted!.timestamp}`
    await expect(verifyMessage({ address: B, message, signature: posted!.signature })).resolves.toBe(true)
    expect(Math.abs(posted!.timestamp - Date.now() / 1000)).toBeLessThan(60)
  })

  it('knows an unlisted wallet is not registered without asking the gateway (no 404 in the console)', async () => {
    const key2 = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a') // not in the agents list
    window.ethereum = { request: async () => [key2.address], on: () => undefined, removeListener: () => undefined } as unknown as EIP1193Provider
    const { calls } = mockFetch({ ...baseRoutes, 'GET /v1/tracker': { agents: '2', minRatio: 0.5 } })
    renderWallet()
    fireEvent.click(screen.getByTestId('connect-wallet'))
    await waitFor(() => expect(screen.getByTestId('wallet-standing').textContent).toMatch(/^not registered/))
    expect(screen.getByTestId('register-wallet')).toBeTruthy()
    expect(calls.some((c) => c.path.toLowerCase() === `/v1/agents/${key2.address.toLowerCase()}`)).toBe(false)
  })

  it('says when there is no wallet', () => {
    mockFetch({ ...baseRoutes })
    renderWallet()
    fireEvent.click(screen.getByTestId('connect-wallet'))
    expect(screen.getByRole('alert').textContent).toMatch(/No browser wallet found/)
  })
})
