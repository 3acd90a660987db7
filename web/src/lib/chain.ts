// Verifying a settled receipt in the browser: recompute its digest and its
// Merkle root here, read the batch's root from the ReputationTracker through
// the chain's JSON-RPC, and ask the contract's verifyReceipt.
import { createClient, http, isAddress, type Hex } from 'viem'
import { getChainId, readContract } from 'viem/actions'
import { processProof, receiptDigest, receiptFields } from './merkle'
import type { ReceiptRecord } from './types'

export const reputationTrackerAbi = [
  {
    type: 'function',
    name: 'batchRoot',
    stateMutability: 'view',
    inputs: [{ name: 'batchId', type: 'uint256' }],
    outputs: [{ name: 'root', type: 'bytes32' }],
  },
  {
    type: 'function',
    name: 'verifyReceipt',
    stateMutability: 'view',
    inputs: [
      { name: 'batchId', type: 'uint256' },
      { name: 'receiptDigest', type: 'bytes32' },
      { name: 'proof', type: 'bytes32[]' },
    ],
    outputs: [{ name: 'valid', type: 'bool' }],
  },
] as const

/** ChainReader is what the verification reads from the chain. */
export interface ChainReader {
  chainId(): Promise<number>
  batchRoot(batchId: bigint): Promise<Hex>
  verifyReceipt(batchId: bigint, digest: Hex, proof: Hex[]): Promise<boolean>
}

export function rpcReader(rpcUrl: string, contract: Hex): ChainReader {
  const client = createClient({ transport: http(rpcUrl, { retryCount: 0, timeout: 15_000 }) })
  return {
    chainId: () => getChainId(client),
    batchRoot: (batchId) => readContract(client, { address: contract, abi: reputationTrackerAbi, functionName: 'batchRoot', args: [batchId] }),
    verifyReceipt: (batchId, digest, proof) =>
      readContract(client, { address: contract, abi: reputationTrackerAbi, functionName: 'verifyReceipt', args: [batchId, digest, proof] }),
  }
}

export interface VerifyStep {
  name: string
  ok: boolean
  detail: string
}

export interface VerifyOutcome {
  ok: boolean
  steps: VerifyStep[]
  /** Starts with "verified on chain" exactly when ok. */
  summary: string
}

const ZERO32 = `0x${'0'.repeat(64)}`

function msg(e: unknown): string {
  if (e instanceof Error) return (e as Error & { shortMessage?: string }).shortMessage ?? e.message
  return String(e)
}

/**
 * verifyReceipt checks a settled receipt record (from GET /v1/receipts/{digest},
 * which carries the proof) against the tracker contract on chain chainId.
 * "verified on chain" needs every step: the digest recomputed from the
 * receipt's fields equals the record's, the proof leads to a root, the
 * contract's batchRoot(batchId) is that root, and verifyReceipt returns true.
 */
export async function verifyReceipt(record: ReceiptRecord, chainId: bigint, contract: string, reader: ChainReader): Promise<VerifyOutcome> {
  const steps: VerifyStep[] = []
  const add = (name: string, ok: boolean, detail: string) => steps.push({ name, ok, detail })
  const done = (): VerifyOutcome => {
    const failed = steps.find((s) => !s.ok)
    const batch = record.batchId ?? '0'
    return failed
      ? { ok: false, steps, summary: `not verified: ${failed.name} failed (${failed.detail})` }
      : { ok: true, steps, summary: `verified on chain: the receipt is in batch #${batch}, whose root the contract holds` }
  }

  if (!isAddress(contract)) {
    add('tracker contract', false, `the chain status names no contract (${contract || 'empty'})`)
    return done()
  }
  const batchId = BigInt(record.batchId ?? '0')
  const proof = (record.merkleProof ?? []).map((p) => p.toLowerCase() as Hex)
  if (record.state !== 'SETTLEMENT_STATE_SETTLED' || batchId === 0n) {
    add('settlement', false, `the receipt is ${record.state ?? 'unknown'}, not settled in a batch`)
    return done()
  }
  add('settlement', true, `settled in batch #${batchId} (block ${record.blockNumber ?? '?'}), proof of ${proof.length} sibling${proof.length === 1 ? '' : 's'}`)

  // 1. The digest, from the fields, bound to this chain and contract.
  let digest: Hex
  try {
    digest = receiptDigest(chainId, contract as Hex, receiptFields(record.receipt ?? {}))
  } catch (e) {
    add('digest', false, msg(e))
    return done()
  }
  const claimed = (record.digest ?? '').toLowerCase()
  add('digest', digest === claimed, digest === claimed ? `recomputed ${digest}` : `recomputed ${digest}, the gateway says ${claimed || '(none)'}`)

  // 2. The root the proof leads to.
  let root: Hex
  try {
    root = processProof(digest, proof)
  } catch (e) {
    add('Merkle proof', false, msg(e))
    return done()
  }
  const gwRoot = (record.batchRoot ?? '').toLowerCase()
  add(
    'Merkle proof',
    !gwRoot || gwRoot === root,
    gwRoot && gwRoot !== root ? `leads to ${root}, the gateway's batch root is ${gwRoot}` : `leads to root ${root}`,
  )

  // 3. The chain: the right one, its root, its own verification.
  try {
    const id = await reader.chainId()
    add('chain id', BigInt(id) === chainId, `the RPC is on chain ${id}, the tracker on ${chainId}`)
  } catch (e) {
    add('chain id', false, `the chain RPC did not answer: ${msg(e)}`)
    return done()
  }
  try {
    const onChain = (await reader.batchRoot(batchId)).toLowerCase()
    if (onChain === ZERO32) add('on-chain root', false, `batchRoot(${batchId}) is zero: no such settled batch on ${contract}`)
    else add('on-chain root', onChain === root, onChain === root ? `batchRoot(${batchId}) = ${onChain}` : `batchRoot(${batchId}) = ${onChain}, not ${root}`)
  } catch (e) {
    add('on-chain root', false, `batchRoot(${batchId}) failed: ${msg(e)}`)
  }
  try {
    const valid = await reader.verifyReceipt(batchId, digest, proof)
    add('verifyReceipt', valid === true, `verifyReceipt(${batchId}, digest, proof) returned ${String(valid)}`)
  } catch (e) {
    add('verifyReceipt', false, `the call failed: ${msg(e)}`)
  }
  return done()
}
