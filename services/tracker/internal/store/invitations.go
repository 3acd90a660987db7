package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
)

// Invitation errors.
var (
	// ErrInvitationLimit: the inviter has made as many invitations as allowed.
	ErrInvitationLimit = errors.New("store: invitation limit reached")
	// ErrAlreadyInvited: the invitee holds an invitation already.
	ErrAlreadyInvited = errors.New("store: address already invited")
	// ErrNotInvited: no unused invitation for the address.
	ErrNotInvited = errors.New("store: address not invited")
)

// Invitation is a stored invitation.
type Invitation struct {
	Inviter, Invitee common.Address
	CreatedAt        time.Time
	UsedAt           time.Time // zero while unused
}

// NewInvitation is what CreateInvitation stores.
type NewInvitation struct {
	Inviter, Invitee common.Address
	Timestamp        uint64
	Signature        receipt.Signature
}

// CreateInvitation stores an invitation if the inviter has made fewer than
// max, and returns it with how many the inviter has made now. The invitee
// must hold no invitation and not be registered (ErrExists).
func (s *Store) CreateInvitation(ctx context.Context, n NewInvitation, max int) (Invitation, int, error) {
	if err := checkTimestamp(n.Timestamp); err != nil {
		return Invitation{}, 0, err
	}
	var inv Invitation
	var made int
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		// The inviter's row serialises its invitations (the count below).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM agents WHERE address = $1 FOR UPDATE`, n.Inviter[:]).Scan(&one); err != nil {
			return notFound(err)
		}
		var registered bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE address = $1)`, n.Invitee[:]).Scan(&registered); err != nil {
			return err
		}
		if registered {
			return fmt.Errorf("%w: invitee %s is registered", ErrExists, n.Invitee.Hex())
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM invitations WHERE inviter = $1`, n.Inviter[:]).Scan(&made); err != nil {
			return err
		}
		if made >= max {
			return ErrInvitationLimit
		}
		tag, err := tx.Exec(ctx, `INSERT INTO invitations (invitee, inviter, signed_ts, signature) VALUES ($1, $2, $3, $4)
			ON CONFLICT (invitee) DO NOTHING`, n.Invitee[:], n.Inviter[:], int64(n.Timestamp), n.Signature[:])
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrAlreadyInvited
		}
		made++
		return tx.QueryRow(ctx, `SELECT created_at FROM invitations WHERE invitee = $1`, n.Invitee[:]).Scan(&inv.CreatedAt)
	})
	if err != nil {
		if errors.Is(err, ErrInvitationLimit) || errors.Is(err, ErrAlreadyInvited) || errors.Is(err, ErrExists) || errors.Is(err, database.ErrNotFound) {
			return Invitation{}, made, err
		}
		return Invitation{}, made, fmt.Errorf("create invitation: %w", err)
	}
	inv.Inviter, inv.Invitee = n.Inviter, n.Invitee
	return inv, made, nil
}

// Invitations lists the inviter's invitations, newest first.
func (s *Store) Invitations(ctx context.Context, inviter common.Address) ([]Invitation, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT invitee, created_at, used_at FROM invitations WHERE inviter = $1
		ORDER BY created_at DESC, invitee`, inviter[:])
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	var out []Invitation
	var invitee []byte
	var created time.Time
	var used *time.Time
	_, err = pgx.ForEachRow(rows, []any{&invitee, &created, &used}, func() error {
		inv := Invitation{Inviter: inviter, Invitee: common.BytesToAddress(invitee), CreatedAt: created}
		if used != nil {
			inv.UsedAt = *used
		}
		out = append(out, inv)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	return out, nil
}
