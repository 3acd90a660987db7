-- +goose Up
-- An agent's standing from one source, in one snapshot (DESIGN.md step 4):
--
--   upload   = base_upload   + settled_totals.upload_bytes   + pending_totals.upload_bytes
--   download = base_download + settled_totals.download_bytes + pending_totals.download_bytes
--
-- base_* is what the contract gave the agent when it registered here: the
-- initial credit, or the figures imported from the referrer chain. The
-- tracker writes what registration will give (its chain read) when the agent
-- registers; the chainwriter writes what it did give, from the registration
-- transaction's AgentRegistered/AgentImported event, when that transaction is
-- confirmed (base_confirmed). settled_totals is the sum of the agent's
-- receipts in settled batches: the trigger that takes a batch's bytes out of
-- pending_totals when the batch is settled puts them into settled_totals in
-- the same transaction, so base + settled + pending never drops while a batch
-- settles (before, the tracker read settled bytes from the chain and pending
-- ones from here, and saw a batch in neither for a moment). On chain, an
-- agent's figures are exactly base + its settled receipts (pbts audit checks).
ALTER TABLE agents
    ADD COLUMN base_upload    bigint  CHECK (base_upload >= 0),
    ADD COLUMN base_download  bigint  CHECK (base_download >= 0),
    ADD COLUMN base_confirmed boolean NOT NULL DEFAULT false,
    ADD CHECK ((base_upload IS NULL) = (base_download IS NULL)),
    ADD CHECK (NOT base_confirmed OR base_upload IS NOT NULL);

-- The chainwriter fills the base of agents confirmed before this migration.
CREATE INDEX agents_base_missing_idx ON agents (address) WHERE chain_state = 'confirmed' AND NOT base_confirmed;

CREATE TABLE settled_totals (
    agent          bytea  PRIMARY KEY CHECK (octet_length(agent) = 20),
    upload_bytes   bigint NOT NULL DEFAULT 0 CHECK (upload_bytes >= 0),
    download_bytes bigint NOT NULL DEFAULT 0 CHECK (download_bytes >= 0),
    receipt_count  bigint NOT NULL DEFAULT 0 CHECK (receipt_count >= 0)
) WITH (fillfactor = 80);

-- Batches settled before this migration.
INSERT INTO settled_totals (agent, upload_bytes, download_bytes, receipt_count)
SELECT agent, sum(up), sum(down), sum(n)
  FROM (SELECT r.sender AS agent, sum(r.piece_size) AS up, 0::numeric AS down, count(*) AS n
          FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id
         WHERE b.settled_at IS NOT NULL GROUP BY r.sender
        UNION ALL
        SELECT r.receiver, 0::numeric, sum(r.piece_size), count(*)
          FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id
         WHERE b.settled_at IS NOT NULL GROUP BY r.receiver) s
 GROUP BY agent;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION receipt_batches_settled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Settling moves the batch's bytes from the pending totals to the settled
    -- ones; clearing settled_at (a reorg) moves them back.
    sign bigint := CASE WHEN NEW.settled_at IS NOT NULL THEN -1 ELSE 1 END;
    d record;
BEGIN
    -- Lock the totals in agent order, as SubmitReceipts does, so the two never
    -- deadlock: pending first, then settled.
    PERFORM 1 FROM pending_totals
     WHERE agent IN (SELECT sender FROM receipts WHERE batch_id = NEW.id
                     UNION SELECT receiver FROM receipts WHERE batch_id = NEW.id)
     ORDER BY agent FOR UPDATE;
    FOR d IN
        SELECT agent, sum(up)::bigint AS up, sum(down)::bigint AS down, sum(n)::bigint AS n
          FROM (SELECT sender AS agent, sum(piece_size) AS up, 0::numeric AS down, count(*) AS n
                  FROM receipts WHERE batch_id = NEW.id GROUP BY sender
                UNION ALL
                SELECT receiver, 0::numeric, sum(piece_size), count(*)
                  FROM receipts WHERE batch_id = NEW.id GROUP BY receiver) s
         GROUP BY agent ORDER BY agent
    LOOP
        UPDATE pending_totals
           SET upload_bytes   = upload_bytes + sign * d.up,
               download_bytes = download_bytes + sign * d.down,
               receipt_count  = receipt_count + sign * d.n
         WHERE agent = d.agent;
        IF sign < 0 THEN
            INSERT INTO settled_totals AS t (agent, upload_bytes, download_bytes, receipt_count)
            VALUES (d.agent, d.up, d.down, d.n)
                ON CONFLICT (agent) DO UPDATE
               SET upload_bytes   = t.upload_bytes + excluded.upload_bytes,
                   download_bytes = t.download_bytes + excluded.download_bytes,
                   receipt_count  = t.receipt_count + excluded.receipt_count;
        ELSE
            UPDATE settled_totals
               SET upload_bytes   = upload_bytes - d.up,
                   download_bytes = download_bytes - d.down,
                   receipt_count  = receipt_count - d.n
             WHERE agent = d.agent;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION receipt_batches_settled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign bigint := CASE WHEN NEW.settled_at IS NOT NULL THEN -1 ELSE 1 END;
BEGIN
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
DROP TABLE settled_totals;
DROP INDEX agents_base_missing_idx;
ALTER TABLE agents DROP COLUMN base_confirmed, DROP COLUMN base_download, DROP COLUMN base_upload;
