// The registration message an agent personal_signs (EIP-191), exactly as
// receipt.RegistrationMessage (receipt/registration.go) builds it and the
// tracker verifies it: five lines joined by "\n", no trailing newline,
// addresses in EIP-55 form, numbers in decimal:
//
//   PBTS agent registration
//   chain: 31337
//   tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3
//   agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
//   timestamp: 1708387200
import { getAddress } from 'viem'

export function registrationMessage(chainId: bigint | number | string, tracker: string, agent: string, timestamp: number): string {
  const chain = BigInt(chainId)
  if (chain <= 0n) throw new Error('the chain id is unknown')
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new Error(`bad timestamp ${timestamp}`)
  return [
    'PBTS agent registration',
    `chain: ${chain.toString(10)}`,
    `tracker: ${getAddress(tracker)}`,
    `agent: ${getAddress(agent)}`,
    `timestamp: ${timestamp}`,
  ].join('\n')
}
