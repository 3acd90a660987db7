import type { EIP1193Provider } from 'viem'

declare global {
  interface Window {
    ethereum?: EIP1193Provider
  }
}

/** injectedProvider is the browser wallet (EIP-1193 window.ethereum), if any. */
export function injectedProvider(): EIP1193Provider | undefined {
  return typeof window === 'undefined' ? undefined : window.ethereum
}
