-- +goose Up
-- Invitations (the tracker's invite registration policy, issue 13): a
-- registered agent in good standing signs an invitation for one address
-- (receipt.InvitationMessage); under the invite policy only invited
-- addresses register, and each records who invited it. One invitation per
-- invitee; an inviter's count is bounded by the tracker (it locks the
-- inviter's agents row while counting).
CREATE TABLE invitations (
    invitee    bytea       PRIMARY KEY CHECK (octet_length(invitee) = 20),
    inviter    bytea       NOT NULL REFERENCES agents (address) CHECK (octet_length(inviter) = 20),
    created_at timestamptz NOT NULL DEFAULT now(),
    signed_ts  bigint      NOT NULL CHECK (signed_ts >= 0),
    signature  bytea       NOT NULL CHECK (octet_length(signature) = 65),
    used_at    timestamptz,
    CHECK (invitee <> inviter)
);

CREATE INDEX invitations_inviter_idx ON invitations (inviter, created_at DESC);

ALTER TABLE agents ADD COLUMN invited_by bytea REFERENCES agents (address) CHECK (octet_length(invited_by) = 20);

-- +goose Down
ALTER TABLE agents DROP COLUMN invited_by;
DROP TABLE invitations;
