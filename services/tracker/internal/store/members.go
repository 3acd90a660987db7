package store

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/database"
)

type memberKey [20 + common.AddressLength]byte

func newMemberKey(ih [20]byte, agent common.Address) (k memberKey) {
	copy(k[:20], ih[:])
	copy(k[20:], agent[:])
	return k
}

// RecordMember notes that agent announced on the torrent ih (first_seen once,
// last_seen refreshed). It is cheap enough for every announce: within
// Options.MemberRefresh of the last write by this process it does nothing, and
// the database row is rewritten at most once per MemberRefresh whatever the
// number of tracker processes. An uncatalogued torrent or unregistered agent is
// database.ErrNotFound.
func (s *Store) RecordMember(ctx context.Context, ih [20]byte, agent common.Address) error {
	k := newMemberKey(ih, agent)
	if _, ok := s.members.get(k); ok {
		return nil
	}
	_, err := s.db.Pool.Exec(ctx, `
		INSERT INTO swarm_members (info_hash, agent) VALUES ($1, $2)
		ON CONFLICT (info_hash, agent) DO UPDATE SET last_seen = now()
		WHERE swarm_members.last_seen < now() - make_interval(secs => $3)`,
		ih[:], agent[:], s.opts.MemberRefresh.Seconds())
	if isForeignKeyViolation(err) {
		return database.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("record member: %w", err)
	}
	s.members.put(k, struct{}{})
	return nil
}

// IsMember tells whether agent ever announced on the torrent ih.
func (s *Store) IsMember(ctx context.Context, ih [20]byte, agent common.Address) (bool, error) {
	var ok bool
	err := s.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM swarm_members WHERE info_hash = $1 AND agent = $2)`,
		ih[:], agent[:]).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("is member: %w", err)
	}
	return ok, nil
}
