// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core) against a running stack. e2e/dashboard_test.go starts the
// stack, drives the agents and runs this script; the two talk in lines:
//
//   this script -> stdout: "wait <what>"   (the Go test does <what>, then answers)
//   Go test     -> stdin:  "go <what>"
//   this script -> stdout: "registered <passkey>", "ok", or "fail <why>"
//
// Settings (environment): PBTS_DASHBOARD_URL, PBTS_SENDER, PBTS_RECEIVER,
// PBTS_FREERIDER (addresses), PBTS_TRANSFER_BYTES, PBTS_WALLET_KEY (the
// injected wallet's private key, hex), PBTS_CHAIN_ID, PBTS_SHOTS (a directory
// for screenshots), PBTS_README_SHOT (optional: where the README's screenshot
// goes), PBTS_CHROMIUM (default /usr/bin/chromium), PBTS_WAIT_MS (the bound of
// every wait, default 90000).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { chromium } from 'playwright-core'
import { privateKeyToAccount } from 'viem/accounts'

const env = (k, d) => {
  const v = process.env[k] ?? d
  if (v === undefined) throw new Error(`${k} is not set`)
  return v
}
const base = env('PBTS_DASHBOARD_URL').replace(/\/$/, '')
const sender = env('PBTS_SENDER').toLowerCase()
const receiver = env('PBTS_RECEIVER').toLowerCase()
const freeRider = env('PBTS_FREERIDER').toLowerCase()
const transferBytes = BigInt(env('PBTS_TRANSFER_BYTES'))
const wallet = privateKeyToAccount(`0x${env('PBTS_WALLET_KEY').replace(/^0x/, '')}`)
const chainId = BigInt(env('PBTS_CHAIN_ID'))
const shots = env('PBTS_SHOTS')
const readmeShot = process.env.PBTS_README_SHOT
const waitMs = Number(env('PBTS_WAIT_MS', '90000'))

const log = (...a) => console.error('[dashboard.mjs]', ...a)
const say = (line) => process.stdout.write(`${line}\n`)

// Lines from the Go test.
const lines = createInterface({ input: process.stdin })
const pending = []
const queued = []
lines.on('line', (l) => (pending.length ? pending.shift()(l) : queued.push(l)))
const nextLine = () => (queued.length ? Promise.resolve(queued.shift()) : new Promise((r) => pending.push(r)))
async function handOver(what) {
  say(`wait ${what}`)
  const l = await nextLine()
  if (l !== `go ${what}`) throw new Error(`expected "go ${what}" from the test, got ${JSON.stringify(l)}`)
}

// The injected wallet: an EIP-1193 provider in the page whose requests this
// script answers with the test key, as MetaMask answers with the user's.
const walletInit = () => {
  const listeners = {}
  window.ethereum = {
    isPbtsTestWallet: true,
    request: async ({ method, params }) => {
      const r = JSON.parse(await window.__pbtsWallet(method, JSON.stringify(params ?? [])))
      if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code })
      return r.result
    },
    on: (ev, fn) => ((listeners[ev] ??= []).push(fn), window.ethereum),
    removeListener: (ev, fn) => ((listeners[ev] = (listeners[ev] ?? []).filter((f) => f !== fn)), window.ethereum),
  }
}
const walletCalls = []
async function walletAnswer(method, paramsJSON) {
  const params = JSON.parse(paramsJSON)
  walletCalls.push(method)
  switch (method) {
    case 'eth_requestAccounts':
    case 'eth_accounts':
      return JSON.stringify({ result: [wallet.address] })
    case 'eth_chainId':
      return JSON.stringify({ result: `0x${chainId.toString(16)}` })
    case 'personal_sign': {
      const [msg, addr] = params
      if (String(addr).toLowerCase() !== wallet.address.toLowerCase())
        return JSON.stringify({ error: { code: 4100, message: `personal_sign for ${addr}, not this wallet's account` } })
      return JSON.stringify({ result: await wallet.signMessage({ message: { raw: msg } }) })
    }
    default:
      return JSON.stringify({ error: { code: 4200, message: `the test wallet does not support ${method}` } })
  }
}

const profile = mkdtempSync(join(tmpdir(), 'pbts-chromium-'))
let ctx
const problems = [] // console errors and warnings, page errors
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env('PBTS_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  })
  ctx.setDefaultTimeout(waitMs)
  await ctx.exposeFunction('__pbtsWallet', walletAnswer)
  await ctx.addInitScript(walletInit)
  const page = ctx.pages()[0] ?? (await ctx.newPage())
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))

  const bytesOf = async (row, cell) => BigInt((await page.getByTestId(row).getByTestId(cell).getAttribute('data-bytes')) ?? '0')
  // Nothing wider than the window: a table scrolls inside its card, not the page.
  const fits = async (name) => {
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    if (over <= 1) return
    // Name the outermost elements that stick out (their parents do not).
    const culprits = await page.evaluate(() => {
      const w = window.innerWidth + 1
      const out = []
      for (const el of document.body.querySelectorAll('*')) {
        const p = el.parentElement
        if (el.getBoundingClientRect().right > w && p && p.getBoundingClientRect().right <= w)
          out.push(`<${el.tagName.toLowerCase()} class="${el.className}"${el.dataset.testid ? ` data-testid="${el.dataset.testid}"` : ''}> ${(el.textContent ?? '').slice(0, 60)}`)
      }
      return out.slice(0, 5)
    })
    throw new Error(`at ${page.viewportSize().width} px the ${name} page is ${over} px wider than the window: ${culprits.join('; ')}`)
  }
  const waitFor = async (what, fn) => {
    const deadline = Date.now() + waitMs
    for (;;) {
      let last
      try {
        if (await fn()) return
      } catch (e) {
        last = e
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`)
      await page.waitForTimeout(100)
    }
  }

  // 1. The overview loads with the network's figures and the agents table.
  await page.goto(`${base}/#/`)
  await page.getByTestId('overview-agents').waitFor()
  for (const a of [sender, receiver, freeRider]) await page.getByTestId(`agent-row-${a}`).waitFor()
  log('overview: agents', await page.getByTestId('overview-agents').textContent())

  // 2. The free-rider shows blocked, with the tracker's reason.
  const fr = page.getByTestId(`agent-row-${freeRider}`)
  await waitFor('the free-rider blocked', async () => (await fr.getByTestId('agent-status').textContent()) === 'blocked')
  const reason = (await fr.getByTestId('agent-reason').textContent()) ?? ''
  if (!/ratio/i.test(reason)) throw new Error(`the free-rider's reason ${JSON.stringify(reason)} does not name the ratio`)
  log('free-rider blocked:', reason)

  // 3. A real transfer while the page is open: the figures move without a reload.
  const upBefore = await bytesOf(`agent-row-${sender}`, 'agent-uploaded')
  const downBefore = await bytesOf(`agent-row-${receiver}`, 'agent-downloaded')
  await page.evaluate(() => (window.__pbtsNoReload = true))
  await page.screenshot({ path: join(shots, 'overview-before.png'), fullPage: true })
  await handOver('transfer')
  await waitFor('the sender uploaded and the receiver downloaded figures to move', async () => {
    const up = await bytesOf(`agent-row-${sender}`, 'agent-uploaded')
    const down = await bytesOf(`agent-row-${receiver}`, 'agent-downloaded')
    return up - upBefore === transferBytes && down - downBefore === transferBytes
  })
  if (!(await page.evaluate(() => window.__pbtsNoReload === true))) throw new Error('the page was reloaded')
  await page.getByTestId('feed-receipt').first().waitFor()
  log(`transfer shown: sender +${transferBytes} up, receiver +${transferBytes} down, no reload`)
  await fits('overview')
  await page.screenshot({ path: join(shots, 'overview-after.png'), fullPage: true })
  if (readmeShot) await page.screenshot({ path: readmeShot, fullPage: true })

  // 4. "Verified on chain" for one of the receiver's settled receipts.
  await page.goto(`${base}/#/agents/${receiver}`)
  await page.getByTestId('agent-page-downloaded').waitFor()
  const settled = page.locator('[data-testid="receipt-row"][data-state="settled"]').first()
  await waitFor('a settled receipt with a verify button', async () => (await settled.getByTestId('verify-receipt').count()) > 0)
  await settled.getByTestId('verify-receipt').click()
  const result = page.getByTestId('verify-result')
  await result.waitFor()
  const verdict = (await result.textContent()) ?? ''
  if (!verdict.includes('verified on chain')) throw new Error(`verify said ${JSON.stringify(verdict)}`)
  log('verify:', verdict)
  await fits('agent (a receipt verified)')
  await page.screenshot({ path: join(shots, 'agent-verified.png'), fullPage: true })

  // 5. Connect the injected wallet, see it unregistered, register it by signing.
  await page.goto(`${base}/#/agents`)
  await page.getByTestId('connect-wallet').click()
  await waitFor('the wallet address', async () => (await page.getByTestId('wallet-address').getAttribute('data-address'))?.toLowerCase() === wallet.address.toLowerCase())
  await waitFor('the standing "not registered"', async () => ((await page.getByTestId('wallet-standing').textContent()) ?? '').includes('not registered'))
  await page.getByTestId('register-wallet').click()
  const passkey = ((await page.getByTestId('wallet-passkey').textContent()) ?? '').trim()
  if (!/^[0-9a-f]{32,}$/i.test(passkey)) throw new Error(`the passkey shown is ${JSON.stringify(passkey)}`)
  await waitFor('the standing "registered"', async () => ((await page.getByTestId('wallet-standing').textContent()) ?? '').startsWith('registered'))
  await page.getByTestId(`agent-row-${wallet.address.toLowerCase()}`).waitFor()
  if (!walletCalls.includes('personal_sign')) throw new Error(`the wallet was never asked to sign (calls: ${walletCalls.join(', ')})`)
  say(`registered ${passkey}`)
  log('wallet registered; calls:', walletCalls.join(', '))
  await fits('agents (the wallet registered)')
  await page.screenshot({ path: join(shots, 'wallet-registered.png'), fullPage: true })

  // 6. Phone width: the same pages, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 })
  const phonePages = [
    ['overview', '#/', '[data-testid="overview-bytes"]'],
    ['agents', '#/agents', `[data-testid="agent-row-${sender}"]`],
    ['datasets', '#/datasets', '[data-testid^="dataset-row-"]'],
    ['feed', '#/feed', '[data-testid="feed-receipt"]'],
    ['chain', '#/chain', '[data-testid="chain-contract"]'],
  ]
  for (const [name, route, shown] of phonePages) {
    await page.goto(`${base}/${route}`)
    await page.locator(shown).first().waitFor()
    await fits(name)
    await page.screenshot({ path: join(shots, `phone-${name}.png`), fullPage: true })
  }

  if (problems.length) throw new Error(`the console was not clean:\n  ${problems.join('\n  ')}`)
  say('ok')
} catch (e) {
  say(`fail ${String(e?.stack ?? e).replace(/\n/g, ' | ')}`)
  if (problems.length) log('console:', problems.join('\n'))
  process.exitCode = 1
} finally {
  await ctx?.close().catch(() => {})
  rmSync(profile, { recursive: true, force: true })
  lines.close()
}
