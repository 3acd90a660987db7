// The browser wallet (EIP-1193 window.ethereum) through viem: connect, and
// personal_sign the registration message. A bare viem client with the two
// actions it needs (what createWalletClient({transport: custom(window.ethereum)})
// decorates, without pulling every wallet action into the bundle).
import { createClient, custom, getAddress, type Address, type EIP1193Provider } from 'viem'
import { requestAddresses, signMessage } from 'viem/actions'
import { registrationMessage } from './registration'
import type { RegistrationBody } from './api'

/** connectWallet asks the wallet for its accounts (eth_requestAccounts) and returns the first. */
export async function connectWallet(provider: EIP1193Provider): Promise<Address> {
  const client = createClient({ transport: custom(provider) })
  const [addr] = await requestAddresses(client)
  if (!addr) throw new Error('the wallet returned no account')
  return getAddress(addr)
}

/**
 * signRegistration has the wallet personal_sign (EIP-191) the registration
 * message for the tracker contract on chain chainId, at unix time now, and
 * returns the body of POST /v1/agents.
 */
export async function signRegistration(
  provider: EIP1193Provider,
  account: Address,
  chainId: bigint | string | number,
  contract: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<RegistrationBody & { message: string }> {
  const message = registrationMessage(chainId, contract, account, nowSeconds)
  const client = createClient({ transport: custom(provider) })
  const signature = await signMessage(client, { account, message })
  return { address: getAddress(account), timestamp: nowSeconds, signature, message }
}
