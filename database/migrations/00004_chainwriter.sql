-- +goose Up
-- Chainwriter (services/chainwriter, DESIGN.md step 7): the transactions it
-- signs and what each one carries. Postgres is the source of truth for nonces:
-- every signed version of a transaction is stored (raw bytes) before it is
-- broadcast, so a restart rebroadcasts instead of signing anew, and whichever
-- version gets included is recognised.
--
-- Exactly once: a batch's receipts are fixed when the receipt_batches row is
-- inserted (one transaction with receipts.batch_id), before anything is
-- signed; the batch is only ever sent as settle(id, root, ...) and the contract
-- accepts an id once (lastBatchId + 1), so however often a batch is sent, its
-- receipts count once.

-- chainwriter_binding ties this database to one chain, contract and signer:
-- batch ids and nonces mean nothing elsewhere, so the writer refuses to run
-- against another one. base_batch_id is the contract's lastBatchId when the
-- database was bound (0 for a fresh contract): the first batch here is
-- base_batch_id + 1. bound_block bounds log searches.
CREATE TABLE chainwriter_binding (
    singleton     boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    chain_id      bigint      NOT NULL CHECK (chain_id > 0),
    contract      bytea       NOT NULL CHECK (octet_length(contract) = 20),
    signer        bytea       NOT NULL CHECK (octet_length(signer) = 20),
    base_batch_id bigint      NOT NULL CHECK (base_batch_id >= 0),
    bound_block   bigint      NOT NULL CHECK (bound_block >= 0),
    bound_at      timestamptz NOT NULL DEFAULT now()
);

-- What ListBatches shows beside 00003's columns; set when the batch is
-- recorded (agent_count, total_bytes) and settled (gas_used).
ALTER TABLE receipt_batches
    ADD COLUMN agent_count integer CHECK (agent_count BETWEEN 1 AND 256),
    ADD COLUMN total_bytes bigint  CHECK (total_bytes > 0),
    ADD COLUMN gas_used    bigint  CHECK (gas_used > 0);

-- The writer looks for unsettled batches every poll.
CREATE INDEX receipt_batches_unsettled_idx ON receipt_batches (id) WHERE settled_at IS NULL;

-- chainwriter_txs has one row per nonce the writer used. state:
--   pending   signed (see chainwriter_tx_attempts), not seen in a block;
--   mined     included (mined_hash, block_*), waiting for confirmations;
--   confirmed included, confirmed and succeeded: effects recorded in the same
--             database transaction (batch settled / agents confirmed);
--   failed    included, confirmed, reverted: its work is queued again;
--   dropped   the nonce was used by a transaction that is none of its
--             versions: its work is queued again.
CREATE TABLE chainwriter_txs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    signer       bytea       NOT NULL CHECK (octet_length(signer) = 20),
    nonce        bigint      NOT NULL CHECK (nonce >= 0),
    kind         text        NOT NULL CHECK (kind IN ('register', 'settle')),
    batch_id     bigint      REFERENCES receipt_batches (id),
    to_address   bytea       NOT NULL CHECK (octet_length(to_address) = 20),
    data         bytea       NOT NULL,
    gas_limit    bigint      NOT NULL CHECK (gas_limit >= 21000),
    state        text        NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'mined', 'confirmed', 'failed', 'dropped')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    mined_hash   bytea       CHECK (octet_length(mined_hash) = 32),
    block_number bigint      CHECK (block_number >= 0),
    block_hash   bytea       CHECK (octet_length(block_hash) = 32),
    status       smallint    CHECK (status IN (0, 1)),
    gas_used     bigint      CHECK (gas_used >= 0),
    mined_at     timestamptz,
    finished_at  timestamptz,
    -- Why a transaction failed or was dropped.
    note         text        CHECK (octet_length(note) <= 1000),
    CONSTRAINT chainwriter_txs_nonce_uniq UNIQUE (signer, nonce),
    CHECK ((kind = 'settle') = (batch_id IS NOT NULL)),
    CHECK ((state IN ('mined', 'confirmed', 'failed')) =
           (mined_hash IS NOT NULL AND block_number IS NOT NULL AND block_hash IS NOT NULL
            AND status IS NOT NULL AND gas_used IS NOT NULL)),
    CHECK ((state IN ('confirmed', 'failed', 'dropped')) = (finished_at IS NOT NULL))
);

-- A batch has at most one transaction that is live or succeeded.
CREATE UNIQUE INDEX chainwriter_txs_batch_uniq ON chainwriter_txs (batch_id)
    WHERE state IN ('pending', 'mined', 'confirmed');
-- The monitor walks live transactions by nonce.
CREATE INDEX chainwriter_txs_live_idx ON chainwriter_txs (signer, nonce) WHERE state IN ('pending', 'mined');

-- chainwriter_tx_attempts keeps every signed version of a transaction (same
-- nonce, higher fees each time), stored before it is broadcast.
CREATE TABLE chainwriter_tx_attempts (
    hash        bytea         PRIMARY KEY CHECK (octet_length(hash) = 32),
    tx_id       bigint        NOT NULL REFERENCES chainwriter_txs (id),
    raw         bytea         NOT NULL,
    gas_tip_cap numeric(78,0) NOT NULL CHECK (gas_tip_cap >= 0),
    gas_fee_cap numeric(78,0) NOT NULL CHECK (gas_fee_cap >= gas_tip_cap),
    signed_at   timestamptz   NOT NULL DEFAULT now(),
    -- Last time a node accepted it (NULL: never yet).
    sent_at     timestamptz
);

CREATE INDEX chainwriter_tx_attempts_tx_idx ON chainwriter_tx_attempts (tx_id, signed_at);

-- chainwriter_tx_agents lists the agents a registerBatch transaction
-- registers; an agent is in flight while such a transaction is live.
CREATE TABLE chainwriter_tx_agents (
    tx_id bigint NOT NULL REFERENCES chainwriter_txs (id),
    agent bytea  NOT NULL REFERENCES agents (address),
    PRIMARY KEY (tx_id, agent)
);

CREATE INDEX chainwriter_tx_agents_agent_idx ON chainwriter_tx_agents (agent);

-- +goose Down
DROP TABLE chainwriter_tx_agents;
DROP TABLE chainwriter_tx_attempts;
DROP TABLE chainwriter_txs;
DROP INDEX receipt_batches_unsettled_idx;
ALTER TABLE receipt_batches
    DROP COLUMN gas_used,
    DROP COLUMN total_bytes,
    DROP COLUMN agent_count;
DROP TABLE chainwriter_binding;
