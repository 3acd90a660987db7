// The registration message and its signature against receipt/sig_test.go's
// vector (cast 1.7.1: cast wallet sign / cast hash-message).
import type { EIP1193Provider } from 'viem'
import { hashMessage, hexToString } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it, vi } from 'vitest'
import { registrationMessage } from './registration'
import { connectWallet, signRegistration } from './wallet'

// anvil's public development key 1 (testdata/receipts.json keys[1]).
const KEY1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const CAST_SIG = '0x9d11b1b88402a903be91c449d960f3044a41b8d3d3c1a2421a9e31cd737c5ffb54fc3e86b5f081d9369d15473ec2e746a29af5a44fc0412a025f7da91715acd71c'
const CAST_HASH = '0x5fc265ffe2f2f81360ba2154012f802c772ff0d50fe3b1beb155b0b35b963e8b'
const WANT =
  'PBTS agent registration\n' +
  'chain: 31337\n' +
  'tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\n' +
  'agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n' +
  'timestamp: 1708387200'

describe('registrationMessage', () => {
  it('is receipt.RegistrationMessage, byte for byte, with EIP-55 addresses from any case', () => {
    expect(registrationMessage(31337, '0x5fbdb2315678afecb367f032d93f642f64180aa3', '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', 1708387200)).toBe(WANT)
    expect(registrationMessage('31337', '0x5FBDB2315678AFECB367F032D93F642F64180AA3', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', 1708387200)).toBe(WANT)
  })
  it('hashes (EIP-191) to cast hash-message', () => {
    expect(hashMessage(WANT)).toBe(CAST_HASH)
  })
  it('refuses an unknown chain or a bad address', () => {
    expect(() => registrationMessage(0, '0x5fbdb2315678afecb367f032d93f642f64180aa3', '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', 1)).toThrow()
    expect(() => registrationMessage(1, '0x5fbd', '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', 1)).toThrow()
  })
})

/** A wallet (EIP-1193) holding KEY1, recording its calls. */
function fakeWallet() {
  const account = privateKeyToAccount(KEY1)
  const calls: { method: string; params?: unknown }[] = []
  const request = vi.fn(async ({ method, params }: { method: string; params?: unknown }) => {
    calls.push({ method, params })
    switch (method) {
      case 'eth_requestAccounts':
        return [account.address.toLowerCase()]
      case 'personal_sign': {
        const [data, addr] = params as [`0x${string}`, string]
        if (addr.toLowerCase() !== account.address.toLowerCase()) throw new Error('unknown account')
        return account.signMessage({ message: hexToString(data) })
      }
    }
    throw new Error(`unsupported ${method}`)
  })
  return { provider: { request, on: vi.fn(), removeListener: vi.fn() } as unknown as EIP1193Provider, calls, account }
}

describe('the wallet', () => {
  it('connects with eth_requestAccounts and returns the EIP-55 address', async () => {
    const w = fakeWallet()
    await expect(connectWallet(w.provider)).resolves.toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
    expect(w.calls[0].method).toBe('eth_requestAccounts')
  })

  it('personal_signs the registration message: the signature is cast’s', async () => {
    const w = fakeWallet()
    const body = await signRegistration(w.provider, w.account.address, '31337', '0x5fbdb2315678afecb367f032d93f642f64180aa3', 1708387200)
    expect(body).toEqual({ address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', timestamp: 1708387200, signature: CAST_SIG, message: WANT })
    const sign = w.calls.find((c) => c.method === 'personal_sign')
    expect(sign).toBeDefined()
    expect(hexToString((sign!.params as [`0x${string}`])[0])).toBe(WANT)
  })
})
