-- +goose Up
-- The suite's schema lives in one ordered stream of migrations; each service
-- owns its tables (tracker: agents, datasets; receipts: receipts; chainwriter:
-- batches, transactions). This first one only records the schema's origin.
CREATE TABLE pbts_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO pbts_meta (key, value) VALUES ('schema', 'pbts');

-- +goose Down
DROP TABLE pbts_meta;
