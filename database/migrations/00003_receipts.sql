-- +goose Up
-- Receipts: the verifier's ledger of record (services/receipts, DESIGN.md
-- steps 6-7). Addresses, hashes and signatures are their canonical bytes.
--
-- Write path (one transaction per SubmitReceipts request):
--   1. INSERT INTO receipts ... ON CONFLICT DO NOTHING reserves each receipt's
--      key (info_hash, receiver, piece_index, sender) atomically: concurrent
--      copies wait for the first and then do nothing, so a receipt is credited
--      once whatever the spelling, the concurrency or the restarts.
--   2. piece_credit bounds the bytes credited per (info_hash, receiver,
--      piece_index) over all senders by the piece's length: pieces seen for
--      the first time get their row in a plain INSERT (under a savepoint);
--      otherwise an upsert whose DO UPDATE applies only while credited + n <=
--      piece_len, so the bound holds under concurrency (the row lock
--      serialises writers of a piece). A receipt that does not fit is deleted
--      again in the same transaction and refused.
--   3. pending_totals adds the accepted bytes per agent.
-- Locks are taken in that order, and in key order within each step.
--
-- There are deliberately no foreign keys from receipts to agents or datasets:
-- the verifier checks them (cached) and those rows are never deleted, while a
-- foreign key would take a KEY SHARE lock on the hot agent rows per receipt.

-- receipt_batches is written by the chainwriter: one row per settle()
-- transaction, id = the on-chain batchId (lastBatchId + 1), root = the
-- OpenZeppelin StandardMerkleTree root of its receipts' digests. A batch row is
-- inserted unsettled together with receipts.batch_id of its receipts (one
-- transaction); tx_hash may be set and replaced while its transaction is in
-- flight; block_number and settled_at are set once it is confirmed. A batch's
-- receipts never change afterwards.
CREATE TABLE receipt_batches (
    id            bigint      PRIMARY KEY CHECK (id > 0),
    root          bytea       NOT NULL CHECK (octet_length(root) = 32),
    receipt_count integer     NOT NULL CHECK (receipt_count > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    tx_hash       bytea       CHECK (octet_length(tx_hash) = 32),
    block_number  bigint      CHECK (block_number >= 0),
    settled_at    timestamptz,
    CHECK ((settled_at IS NULL) = (block_number IS NULL)),
    CHECK (settled_at IS NULL OR tx_hash IS NOT NULL)
);

-- receipts holds every accepted receipt. Its state is derived:
-- batch_id IS NULL -> pending; batch not settled -> batched; else settled.
CREATE TABLE receipts (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- keccak256(abi.encode(chainId, tracker, ...)) (receipt.Digest); the leaf
    -- value of the batch's Merkle tree.
    digest      bytea       NOT NULL CHECK (octet_length(digest) = 32),
    -- 32 bytes: a v1 info hash left-aligned and zero-filled.
    info_hash   bytea       NOT NULL CHECK (octet_length(info_hash) = 32),
    receiver    bytea       NOT NULL CHECK (octet_length(receiver) = 20),
    piece_index bigint      NOT NULL CHECK (piece_index BETWEEN 0 AND 4294967295),
    sender      bytea       NOT NULL CHECK (octet_length(sender) = 20 AND sender <> receiver),
    piece_hash  bytea       NOT NULL CHECK (octet_length(piece_hash) = 32),
    piece_size  bigint      NOT NULL CHECK (piece_size BETWEEN 1 AND 4294967295),
    -- The receipt's signed timestamp, unix seconds.
    signed_ts   bigint      NOT NULL CHECK (signed_ts >= 0),
    -- r || s || v, normalised: low s, v in {27, 28}.
    signature   bytea       NOT NULL CHECK (octet_length(signature) = 65),
    accepted_at timestamptz NOT NULL,
    batch_id    bigint      REFERENCES receipt_batches (id),
    -- The canonical key (receipt.Key's fields, in its order): one receipt per
    -- sender per piece download.
    CONSTRAINT receipts_key_uniq UNIQUE (info_hash, receiver, piece_index, sender),
    CONSTRAINT receipts_digest_uniq UNIQUE (digest)
);

-- ListReceipts (keyset on id) by agent and by batch. By torrent alone it
-- pages on receipts_key_uniq, whose first column is info_hash: every index
-- costs each accepted receipt an insertion, so none is added for that.
CREATE INDEX receipts_sender_idx ON receipts (sender, id);
CREATE INDEX receipts_receiver_idx ON receipts (receiver, id);
CREATE INDEX receipts_batch_idx ON receipts (batch_id, id) WHERE batch_id IS NOT NULL;
-- The chainwriter drains pending receipts in acceptance order.
CREATE INDEX receipts_pending_idx ON receipts (id) WHERE batch_id IS NULL;

-- piece_credit is the byte bound per piece download (see step 2 above). piece
-- is the piece download's canonical key, receipt.Key's first 56 bytes:
-- info_hash (32) || receiver (20) || piece_index (4, big-endian). piece_len is
-- that piece's length (the last piece may be short).
CREATE TABLE piece_credit (
    piece     bytea  PRIMARY KEY CHECK (octet_length(piece) = 56),
    piece_len bigint NOT NULL CHECK (piece_len > 0),
    credited  bigint NOT NULL CHECK (credited > 0 AND credited <= piece_len)
) WITH (fillfactor = 90);

-- pending_totals is, per agent, the sum over its unsettled receipts (pending or
-- batched): what the tracker's access gate adds to the settled on-chain
-- figures. SubmitReceipts adds to it; settling a batch (receipt_batches.
-- settled_at set) subtracts that batch's receipts, by the trigger below, so the
-- chainwriter need not maintain it.
CREATE TABLE pending_totals (
    agent          bytea  PRIMARY KEY CHECK (octet_length(agent) = 20),
    upload_bytes   bigint NOT NULL DEFAULT 0 CHECK (upload_bytes >= 0),
    download_bytes bigint NOT NULL DEFAULT 0 CHECK (download_bytes >= 0),
    receipt_count  bigint NOT NULL DEFAULT 0 CHECK (receipt_count >= 0)
) WITH (fillfactor = 80);

-- +goose StatementBegin
CREATE FUNCTION receipt_batches_settled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Settling removes the batch's bytes from the pending totals; clearing
    -- settled_at (a reorg) puts them back.
    sign bigint := CASE WHEN NEW.settled_at IS NOT NULL THEN -1 ELSE 1 END;
BEGIN
    -- Lock the totals in agent order, as SubmitReceipts does, so the two never
    -- deadlock.
    PERFORM 1 FROM pending_totals
     WHERE agent IN (SELECT sender FROM receipts WHERE batch_id = NEW.id
                     UNION SELECT receiver FROM receipts WHERE batch_id = NEW.id)
     ORDER BY agent FOR UPDATE;
    UPDATE pending_totals p
       SET upload_bytes   = p.upload_bytes + sign * d.up,
           download_bytes = p.download_bytes + sign * d.down,
           receipt_count  = p.receipt_count + sign * d.n
      FROM (SELECT agent, sum(up) AS up, sum(down) AS down, sum(n) AS n
              FROM (SELECT sender AS agent, sum(piece_size) AS up, 0::numeric AS down, count(*) AS n
                      FROM receipts WHERE batch_id = NEW.id GROUP BY sender
                    UNION ALL
                    SELECT receiver, 0::numeric, sum(piece_size), count(*)
                      FROM receipts WHERE batch_id = NEW.id GROUP BY receiver) s
             GROUP BY agent) d
     WHERE p.agent = d.agent;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER receipt_batches_settled_trg
    AFTER UPDATE OF settled_at ON receipt_batches
    FOR EACH ROW WHEN ((OLD.settled_at IS NULL) <> (NEW.settled_at IS NULL))
    EXECUTE FUNCTION receipt_batches_settled();

-- +goose Down
DROP TABLE pending_totals;
DROP TABLE piece_credit;
DROP TABLE receipts;
DROP TABLE receipt_batches;
DROP FUNCTION receipt_batches_settled();
