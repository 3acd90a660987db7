package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pbts/pbts/agent/atomicfile"
)

// State is what the tracker told the agent at registration, kept as
// HOME/agent.json (0600: it holds the passkey).
type State struct {
	Address         string    `json:"address"`
	Tracker         string    `json:"tracker"`
	TrackerContract string    `json:"tracker_contract"`
	ChainID         uint64    `json:"chain_id"`
	Passkey         string    `json:"passkey,omitempty"`
	AnnounceURL     string    `json:"announce_url,omitempty"`
	RegisteredAt    time.Time `json:"registered_at"`
}

// StateFile is where the registration of the agent whose state directory
// is home is kept.
func StateFile(home string) string { return filepath.Join(home, "agent.json") }

// LoadState reads the registration kept in home; nil, nil when there is none.
func LoadState(home string) (*State, error) {
	b, err := os.ReadFile(StateFile(home))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", StateFile(home), err)
	}
	return &s, nil
}

func saveState(home string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(StateFile(home), append(b, '\n'), 0o600)
}
