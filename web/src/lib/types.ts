// The gateway's JSON (protojson): lowerCamelCase names, 64-bit integers as
// strings, enums by name, Timestamps as RFC 3339, Durations as "1.5s". Fields
// at their default value are omitted, so every field is optional here.

export type U64 = string

export type ChainRegistration =
  | 'CHAIN_REGISTRATION_UNSPECIFIED'
  | 'CHAIN_REGISTRATION_PENDING'
  | 'CHAIN_REGISTRATION_CONFIRMED'

export interface Agent {
  address?: string
  registeredAt?: string
  chainRegistration?: ChainRegistration
  settledUploadBytes?: U64
  settledDownloadBytes?: U64
  pendingUploadBytes?: U64
  pendingDownloadBytes?: U64
  ratio?: number
  ratioInfinite?: boolean
  canLeech?: boolean
  leechRefusal?: string
  publishedCount?: number
  invitedBy?: string
}

export interface ListAgentsResponse {
  agents?: Agent[]
  nextPageToken?: string
}

export interface RegisterAgentResponse {
  agent?: Agent
  passkey?: string
  announceUrl?: string
  alreadyRegistered?: boolean
}

export interface Invitation {
  inviter?: string
  invitee?: string
  createdAt?: string
  usedAt?: string
}

export interface TrackerInfo {
  agents?: U64
  datasets?: U64
  datasetBytes?: U64
  activeSwarms?: U64
  seeders?: U64
  leechers?: U64
  completed?: U64
  minRatioNum?: U64
  minRatioDen?: U64
  minRatio?: number
  registrationPolicy?: string
  inviteMinRatio?: number
  inviteMinUploadBytes?: U64
  invitesPerAgent?: number
  announceBase?: string
  announceUrl?: string
  initialCredit?: U64
}

export type Modality = 'MODALITY_UNSPECIFIED' | 'MODALITY_VIDEO' | 'MODALITY_AUDIO'

export interface Dataset {
  infoHash?: string
  name?: string
  description?: string
  modality?: Modality
  tags?: string[]
  license?: string
  publisher?: string
  totalBytes?: U64
  pieceLength?: number
  pieceCount?: number
  publishedAt?: string
  seeders?: number
  leechers?: number
  completed?: number
}

export interface SearchDatasetsResponse {
  datasets?: Dataset[]
  nextPageToken?: string
}

export interface Swarm {
  seeders?: number
  leechers?: number
  completed?: number
  peersHidden?: boolean
}

export type SettlementState =
  | 'SETTLEMENT_STATE_UNSPECIFIED'
  | 'SETTLEMENT_STATE_PENDING'
  | 'SETTLEMENT_STATE_BATCHED'
  | 'SETTLEMENT_STATE_SETTLED'

export interface Receipt {
  infoHash?: string
  sender?: string
  receiver?: string
  pieceHash?: string
  pieceIndex?: number
  pieceSize?: number
  timestamp?: U64
  signature?: string
}

export interface ReceiptRecord {
  receipt?: Receipt
  digest?: string
  state?: SettlementState
  batchId?: U64
  txHash?: string
  blockNumber?: U64
  merkleProof?: string[]
  acceptedAt?: string
  batchRoot?: string
  settledAt?: string
}

export interface ListReceiptsResponse {
  records?: ReceiptRecord[]
  nextPageToken?: string
}

export interface ReceiptStats {
  receiptsAccepted?: U64
  receiptsSettled?: U64
  receiptsPending?: U64
  bytesAccepted?: U64
  bytesSettled?: U64
}

export type BatchState = 'BATCH_STATE_UNSPECIFIED' | 'BATCH_STATE_RECORDED' | 'BATCH_STATE_SENT' | 'BATCH_STATE_SETTLED'

export interface Batch {
  id?: U64
  state?: BatchState
  root?: string
  receiptCount?: number
  agentCount?: number
  totalBytes?: U64
  createdAt?: string
  txHash?: string
  blockNumber?: U64
  gasUsed?: U64
  settledAt?: string
}

export interface ListBatchesResponse {
  batches?: Batch[]
  nextPageToken?: string
}

export interface InFlightTransaction {
  nonce?: U64
  kind?: string
  state?: string
  batchId?: U64
  agentCount?: number
  txHash?: string
  attempts?: number
  blockNumber?: U64
  createdAt?: string
}

export interface ChainStatus {
  chainId?: U64
  contract?: string
  signer?: string
  balanceWei?: string
  nextNonce?: U64
  chainNonce?: U64
  inFlight?: InFlightTransaction[]
  lastBatchIdOnChain?: U64
  lastSettledBatchId?: U64
  lastBatchId?: U64
  pendingReceipts?: U64
  oldestPendingAge?: string
  pendingRegistrations?: U64
  chainReachable?: boolean
  headBlock?: U64
  observedAt?: string
  confirmations?: U64
  problem?: string
  factory?: string
  referrers?: string[]
  initialCredit?: U64
}

export interface GatewayConfig {
  chainRpcUrl?: string
  chainId?: U64 | number
}

export interface ApiErrorBody {
  code?: number
  message?: string
  details?: unknown[]
}
