package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
)

// ChainState is where an agent's on-chain registration stands.
type ChainState string

// Chain registration states.
const (
	// ChainPending: queued for the chainwriter.
	ChainPending ChainState = "pending"
	// ChainConfirmed: registered on chain (or imported from the referrer).
	ChainConfirmed ChainState = "confirmed"
)

// Agent is a registered agent as stored.
type Agent struct {
	Address common.Address
	// PasskeyHash is sha256 of the current passkey.
	PasskeyHash  [32]byte
	RegisteredAt time.Time
	// RegTimestamp and RegSignature are the signed registration message's.
	RegTimestamp uint64
	RegSignature receipt.Signature
	// AuthTimestamp is the newest signed timestamp the agent used.
	AuthTimestamp uint64
	ChainState    ChainState
	// ChainTx is the registration transaction, zero when unknown.
	ChainTx common.Hash
	// ChainConfirmedAt is zero while pending.
	ChainConfirmedAt time.Time
	// PublishedCount is the number of datasets the agent published.
	PublishedCount uint32
	// InvitedBy is the agent whose invitation it registered with (zero: none).
	InvitedBy common.Address
}

// NewAgent is what CreateAgent stores.
type NewAgent struct {
	Address     common.Address
	PasskeyHash [32]byte
	// Timestamp and Signature of the verified registration message.
	Timestamp uint64
	Signature receipt.Signature
	// RequireInvitation refuses (ErrNotInvited) a new agent without an
	// unused invitation; with or without it, an invitation the address holds
	// is used and its inviter recorded.
	RequireInvitation bool
}

const agentCols = `a.address, a.passkey_hash, a.registered_at, a.reg_timestamp, a.reg_signature,
	a.auth_timestamp, a.chain_state, a.chain_tx_hash, a.chain_confirmed_at,
	(SELECT count(*) FROM datasets d WHERE d.publisher = a.address), a.invited_by`

func scanAgent(row pgx.Row) (Agent, error) {
	var (
		a                       Agent
		addr, hash, sig, tx, by []byte
		regTS, authTS, pubCount int64
		state                   string
		confirmed               *time.Time
	)
	if err := row.Scan(&addr, &hash, &a.RegisteredAt, &regTS, &sig, &authTS, &state, &tx, &confirmed, &pubCount, &by); err != nil {
		return Agent{}, notFound(err)
	}
	copy(a.Address[:], addr)
	copy(a.PasskeyHash[:], hash)
	copy(a.RegSignature[:], sig)
	copy(a.ChainTx[:], tx)
	copy(a.InvitedBy[:], by)
	a.RegTimestamp, a.AuthTimestamp = uint64(regTS), uint64(authTS)
	a.ChainState = ChainState(state)
	if confirmed != nil {
		a.ChainConfirmedAt = *confirmed
	}
	a.PublishedCount = uint32(min(pubCount, math.MaxUint32))
	return a, nil
}

func checkTimestamp(ts uint64) error {
	if ts > math.MaxInt64 {
		return fmt.Errorf("%w: timestamp %d", ErrInvalid, ts)
	}
	return nil
}

// CreateAgent stores a new agent with its registration pending on chain, unless
// the address is registered already. It returns the stored agent and whether
// this call created it (an existing agent is returned unchanged).
func (s *Store) CreateAgent(ctx context.Context, n NewAgent) (Agent, bool, error) {
	if err := checkTimestamp(n.Timestamp); err != nil {
		return Agent{}, false, err
	}
	created := false
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE address = $1)`, n.Address[:]).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil // unchanged: registering twice is no error
		}
		var inviter []byte
		err := tx.QueryRow(ctx, `SELECT inviter FROM invitations WHERE invitee = $1 AND used_at IS NULL FOR UPDATE`,
			n.Address[:]).Scan(&inviter)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if n.RequireInvitation {
				return ErrNotInvited
			}
		case err != nil:
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO agents (address, passkey_hash, reg_timestamp, reg_signature, auth_timestamp, invited_by)
			VALUES ($1, $2, $3, $4, $3, $5)
			ON CONFLICT (address) DO NOTHING`,
			n.Address[:], n.PasskeyHash[:], int64(n.Timestamp), n.Signature[:], inviter)
		if err != nil {
			return err
		}
		if created = tag.RowsAffected() == 1; created && inviter != nil {
			_, err = tx.Exec(ctx, `UPDATE invitations SET used_at = now() WHERE invitee = $1`, n.Address[:])
		}
		return err
	})
	if errors.Is(err, ErrNotInvited) {
		return Agent{}, false, err
	}
	if database.IsUniqueViolation(err) {
		return Agent{}, false, fmt.Errorf("%w: passkey hash", ErrExists)
	}
	if err != nil {
		return Agent{}, false, fmt.Errorf("create agent: %w", err)
	}
	a, err := s.AgentByAddress(ctx, n.Address)
	return a, created, err
}

// AgentByAddress returns the agent, or database.ErrNotFound.
func (s *Store) AgentByAddress(ctx context.Context, addr common.Address) (Agent, error) {
	return scanAgent(s.db.Pool.QueryRow(ctx, `SELECT `+agentCols+` FROM agents a WHERE a.address = $1`, addr[:]))
}

// AgentByPasskeyHash returns the agent whose passkey hashes to h, or
// database.ErrNotFound. It always asks the database; see AgentByPasskey.
func (s *Store) AgentByPasskeyHash(ctx context.Context, h [32]byte) (Agent, error) {
	return scanAgent(s.db.Pool.QueryRow(ctx, `SELECT `+agentCols+` FROM agents a WHERE a.passkey_hash = $1`, h[:]))
}

// RotatePasskey replaces the agent's passkey hash, authorised by a message
// signed at signedTs, which must be newer than the agent's auth_timestamp (the
// newest signed timestamp it used); it becomes the new auth_timestamp. A
// replayed or older message fails with ErrStaleTimestamp, an unknown agent with
// database.ErrNotFound. The old passkey stops working in this process at once
// (and in others within Options.PasskeyCacheTTL).
func (s *Store) RotatePasskey(ctx context.Context, addr common.Address, newHash [32]byte, signedTs uint64) error {
	if err := checkTimestamp(signedTs); err != nil {
		return err
	}
	var old []byte
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		var last int64
		err := tx.QueryRow(ctx, `SELECT passkey_hash, auth_timestamp FROM agents WHERE address = $1 FOR UPDATE`,
			addr[:]).Scan(&old, &last)
		if err != nil {
			return notFound(err)
		}
		tag, err := tx.Exec(ctx, `
			UPDATE agents SET passkey_hash = $2, auth_timestamp = $3, passkey_rotated_at = now()
			WHERE address = $1 AND auth_timestamp < $3`,
			addr[:], newHash[:], int64(signedTs))
		if database.IsUniqueViolation(err) {
			return fmt.Errorf("%w: passkey hash", ErrExists)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: %d is not after %d", ErrStaleTimestamp, signedTs, last)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rotate passkey: %w", err)
	}
	var oldHash [32]byte
	copy(oldHash[:], old)
	s.passkeys.invalidate(oldHash)
	return nil
}

// ListAgents returns up to limit agents, newest registration first, after the
// position pageToken ("" for the first page) names, and the token of the next
// page ("" after the last one). A token not issued by ListAgents fails with
// ErrBadPageToken.
func (s *Store) ListAgents(ctx context.Context, pageToken string, limit int) ([]Agent, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	var (
		rows pgx.Rows
		err  error
	)
	if pageToken == "" {
		rows, err = s.db.Pool.Query(ctx, `SELECT `+agentCols+` FROM agents a
			ORDER BY a.registered_at DESC, a.address DESC LIMIT $1`, limit+1)
	} else {
		c, terr := decodeAgentToken(pageToken)
		if terr != nil {
			return nil, "", terr
		}
		rows, err = s.db.Pool.Query(ctx, `SELECT `+agentCols+` FROM agents a
			WHERE (a.registered_at, a.address) < ($1, $2)
			ORDER BY a.registered_at DESC, a.address DESC LIMIT $3`, c.at, c.addr[:], limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	agents, err := collectAgents(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	next := ""
	if len(agents) > limit {
		agents = agents[:limit]
		last := agents[limit-1]
		next = encodeAgentToken(agentCursor{at: last.RegisteredAt, addr: last.Address})
	}
	return agents, next, nil
}

func collectAgents(rows pgx.Rows) ([]Agent, error) {
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PendingRegistrations returns up to limit agents whose on-chain registration
// is pending, oldest first, for the chainwriter.
func (s *Store) PendingRegistrations(ctx context.Context, limit int) ([]Agent, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+agentCols+` FROM agents a
		WHERE a.chain_state = 'pending' ORDER BY a.registered_at, a.address LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending registrations: %w", err)
	}
	agents, err := collectAgents(rows)
	if err != nil {
		return nil, fmt.Errorf("pending registrations: %w", err)
	}
	return agents, nil
}

// SetRegistrationTx records the transaction that registers a pending agent on
// chain, once sent (the state stays pending until MarkRegistered).
func (s *Store) SetRegistrationTx(ctx context.Context, addr common.Address, tx common.Hash) error {
	tag, err := s.db.Pool.Exec(ctx, `UPDATE agents SET chain_tx_hash = $2 WHERE address = $1`, addr[:], tx[:])
	if err != nil {
		return fmt.Errorf("set registration tx: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return database.ErrNotFound
	}
	return nil
}

// MarkRegistered records that the agent is registered on chain, by tx (zero
// when unknown, e.g. imported from the referrer: a known hash is kept). It is
// idempotent: the first confirmation time stays.
func (s *Store) MarkRegistered(ctx context.Context, addr common.Address, tx common.Hash) error {
	var txArg []byte
	if tx != (common.Hash{}) {
		txArg = tx[:]
	}
	tag, err := s.db.Pool.Exec(ctx, `
		UPDATE agents SET chain_state = 'confirmed',
			chain_tx_hash = COALESCE($2, chain_tx_hash),
			chain_confirmed_at = COALESCE(chain_confirmed_at, now())
		WHERE address = $1`, addr[:], txArg)
	if err != nil {
		return fmt.Errorf("mark registered: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return database.ErrNotFound
	}
	return nil
}

// Standing is what the database holds of an agent's figures, read in one
// snapshot (migration 00005): the base registration gave it, its bytes in
// settled batches and its bytes in verified receipts not settled yet.
type Standing struct {
	Registered bool
	// BaseKnown: base_* is set (by the tracker at registration, with what
	// registration will grant; by the chainwriter once the registration is
	// confirmed, with what it granted: BaseConfirmed).
	BaseKnown, BaseConfirmed bool
	BaseUpload, BaseDownload uint64
	SettledUpload            uint64
	SettledDownload          uint64
	PendingUpload            uint64
	PendingDownload          uint64
}

// AgentStanding reads the agent's standing in one statement (one snapshot:
// a batch settling moves its bytes from pending to settled atomically, so
// the sum never drops). An unknown agent has Registered false.
func (s *Store) AgentStanding(ctx context.Context, addr common.Address) (Standing, error) {
	var (
		st                           Standing
		baseUp, baseDown             *int64
		setUp, setDown, penUp, penDn int64
	)
	err := s.db.Pool.QueryRow(ctx, `
		SELECT a.base_upload, a.base_download, a.base_confirmed,
		       COALESCE(s.upload_bytes, 0), COALESCE(s.download_bytes, 0),
		       COALESCE(p.upload_bytes, 0), COALESCE(p.download_bytes, 0)
		  FROM agents a
		  LEFT JOIN settled_totals s ON s.agent = a.address
		  LEFT JOIN pending_totals p ON p.agent = a.address
		 WHERE a.address = $1`, addr[:]).Scan(&baseUp, &baseDown, &st.BaseConfirmed, &setUp, &setDown, &penUp, &penDn)
	if errors.Is(err, pgx.ErrNoRows) {
		return Standing{}, nil
	}
	if err != nil {
		return Standing{}, fmt.Errorf("agent standing: %w", err)
	}
	st.Registered = true
	if baseUp != nil && baseDown != nil {
		st.BaseKnown, st.BaseUpload, st.BaseDownload = true, uint64(*baseUp), uint64(*baseDown)
	}
	st.SettledUpload, st.SettledDownload = uint64(setUp), uint64(setDown)
	st.PendingUpload, st.PendingDownload = uint64(penUp), uint64(penDn)
	return st, nil
}

// SetExpectedBase records what the agent's registration will grant, unless
// a base is recorded already (the chainwriter's confirmed one wins).
func (s *Store) SetExpectedBase(ctx context.Context, addr common.Address, up, down uint64) error {
	if up > math.MaxInt64 || down > math.MaxInt64 {
		return fmt.Errorf("%w: base figures exceed 2^63", ErrInvalid)
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE agents SET base_upload = $2, base_download = $3
		WHERE address = $1 AND base_upload IS NULL`, addr[:], int64(up), int64(down))
	if err != nil {
		return fmt.Errorf("set expected base: %w", err)
	}
	return nil
}

// Totals is the registry's size: agents, datasets and the datasets' bytes.
type Totals struct {
	Agents, Datasets, DatasetBytes uint64
}

// Totals counts the agents and the catalog (two index-only counts; for the
// dashboard's overview, not a hot path).
func (s *Store) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	err := s.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM agents),
		(SELECT count(*) FROM datasets), (SELECT coalesce(sum(total_bytes), 0) FROM datasets)`).
		Scan(&t.Agents, &t.Datasets, &t.DatasetBytes)
	if err != nil {
		return Totals{}, fmt.Errorf("totals: %w", err)
	}
	return t, nil
}
