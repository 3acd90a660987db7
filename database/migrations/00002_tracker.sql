-- +goose Up
-- Tracker: the agent registry, the dataset catalog and swarm membership.
-- Every address and hash is stored as its canonical bytes (never as text);
-- CHECKs bound every size so that a bug in a service cannot store garbage.

-- agents are registered by an EIP-191 signed registration message. Only the
-- SHA-256 of the passkey is kept. auth_timestamp is the newest signed
-- timestamp the agent has used (registration, then each passkey rotation): a
-- rotation message must carry a newer one, so none can be replayed.
CREATE TABLE agents (
    address            bytea       PRIMARY KEY CHECK (octet_length(address) = 20),
    passkey_hash       bytea       NOT NULL UNIQUE CHECK (octet_length(passkey_hash) = 32),
    registered_at      timestamptz NOT NULL DEFAULT now(),
    reg_timestamp      bigint      NOT NULL CHECK (reg_timestamp >= 0),
    reg_signature      bytea       NOT NULL CHECK (octet_length(reg_signature) = 65),
    auth_timestamp     bigint      NOT NULL CHECK (auth_timestamp >= reg_timestamp),
    passkey_rotated_at timestamptz,
    -- On-chain registration, sent by the chainwriter: pending until confirmed.
    chain_state        text        NOT NULL DEFAULT 'pending'
                                   CHECK (chain_state IN ('pending', 'confirmed')),
    chain_tx_hash      bytea       CHECK (octet_length(chain_tx_hash) = 32),
    chain_confirmed_at timestamptz,
    CHECK ((chain_state = 'confirmed') = (chain_confirmed_at IS NOT NULL))
);

-- ListAgents pages newest first.
CREATE INDEX agents_registered_idx ON agents (registered_at DESC, address DESC);
-- The chainwriter drains pending registrations oldest first.
CREATE INDEX agents_chain_pending_idx ON agents (registered_at, address) WHERE chain_state = 'pending';

-- pbts_valid_tags tells whether every element is a tag: [a-z0-9-]{1,32}, not NULL.
-- +goose StatementBegin
CREATE FUNCTION pbts_valid_tags(tags text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM unnest(tags) AS t WHERE t IS NULL OR t !~ '^[a-z0-9-]{1,32}$')
$$;
-- +goose StatementEnd

-- datasets is the catalog of private v1 torrents. info is the exact bencoded
-- info dictionary (its SHA-1 is info_hash); piece_sha256 holds the SHA-256 of
-- every piece, concatenated, that receipts name pieces by. Rows never change.
CREATE TABLE datasets (
    info_hash         bytea       PRIMARY KEY CHECK (octet_length(info_hash) = 20),
    publisher         bytea       NOT NULL REFERENCES agents (address),
    name              text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description       text        NOT NULL DEFAULT '' CHECK (octet_length(description) <= 4096),
    -- pbts.v1.Modality: 1 video, 2 audio.
    modality          smallint    NOT NULL CHECK (modality IN (1, 2)),
    -- Up to 16 tags of [a-z0-9-]{1,32}, no NULLs (the registry also refuses duplicates).
    tags              text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 16 AND pbts_valid_tags(tags)),
    license           text        NOT NULL DEFAULT '' CHECK (char_length(license) <= 64),
    info              bytea       NOT NULL CHECK (octet_length(info) BETWEEN 1 AND 4194304),
    piece_length      integer     NOT NULL CHECK (piece_length BETWEEN 16384 AND 16777216),
    piece_count       integer     NOT NULL CHECK (piece_count > 0),
    total_bytes       bigint      NOT NULL,
    piece_sha256      bytea       NOT NULL,
    published_at      timestamptz NOT NULL DEFAULT now(),
    publish_timestamp bigint      NOT NULL CHECK (publish_timestamp >= 0),
    publish_signature bytea       NOT NULL CHECK (octet_length(publish_signature) = 65),
    -- Full-text search document, maintained by datasets_search_trg (a generated
    -- column cannot use array_to_string, which is only STABLE).
    search            tsvector    NOT NULL DEFAULT ''::tsvector,
    CHECK (octet_length(piece_sha256) = 32 * piece_count),
    CHECK (total_bytes > (piece_count - 1)::bigint * piece_length
           AND total_bytes <= piece_count::bigint * piece_length)
);

CREATE INDEX datasets_search_idx ON datasets USING gin (search);
CREATE INDEX datasets_tags_idx ON datasets USING gin (tags);
CREATE INDEX datasets_modality_idx ON datasets (modality, published_at DESC, info_hash DESC);
CREATE INDEX datasets_published_idx ON datasets (published_at DESC, info_hash DESC);
CREATE INDEX datasets_publisher_idx ON datasets (publisher, published_at DESC, info_hash DESC);
CREATE INDEX datasets_name_idx ON datasets (name, published_at, info_hash);

-- +goose StatementBegin
CREATE FUNCTION datasets_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector('simple', NEW.name), 'A') ||
        setweight(to_tsvector('simple', array_to_string(NEW.tags, ' ')), 'B') ||
        setweight(to_tsvector('simple', NEW.license), 'D') ||
        setweight(to_tsvector('simple', NEW.description), 'C');
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER datasets_search_trg
    BEFORE INSERT OR UPDATE OF name, description, tags, license ON datasets
    FOR EACH ROW EXECUTE FUNCTION datasets_search_update();

-- swarm_members records every agent that announced on a torrent: the receipts
-- service checks that a receipt's sender and receiver were in the swarm. Rows
-- are never deleted (a receipt may arrive after its peers left).
CREATE TABLE swarm_members (
    info_hash  bytea       NOT NULL REFERENCES datasets (info_hash),
    agent      bytea       NOT NULL REFERENCES agents (address),
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (info_hash, agent),
    CHECK (last_seen >= first_seen)
);

CREATE INDEX swarm_members_agent_idx ON swarm_members (agent);

-- +goose Down
DROP TABLE swarm_members;
DROP TABLE datasets;
DROP FUNCTION datasets_search_update();
DROP FUNCTION pbts_valid_tags(text[]);
DROP TABLE agents;
