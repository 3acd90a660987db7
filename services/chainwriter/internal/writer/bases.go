package writer

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/services/chainwriter/internal/store"
)

// basesPerStep bounds the agents whose registration events one step looks up.
const basesPerStep = 64

// noBaseRetry is how long an agent whose registration event was not found
// (registered before the database was bound) waits before another look.
const noBaseRetry = 10 * time.Minute

// bases records, for agents whose registration is confirmed, what the
// registration granted (the AgentRegistered or AgentImported event of this
// contract): from then on the tracker and the receipts service take their
// figures from the database alone, base + settled + pending in one snapshot.
func (w *Writer) bases(ctx context.Context) error {
	agents, err := w.st.AgentsWithoutBase(ctx, basesPerStep)
	if err != nil {
		return dbErr(err)
	}
	now := time.Now()
	var topics []common.Hash
	for _, a := range agents {
		if until, ok := w.noBase[a]; ok && now.Before(until) {
			continue
		}
		topics = append(topics, common.BytesToHash(a[:]))
	}
	if len(topics) == 0 {
		return nil
	}
	events := w.abi.GetABI().Events
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	logs, err := w.be.FilterLogs(cctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(w.binding.BoundBlock),
		Addresses: []common.Address{w.cfg.Contract},
		Topics:    [][]common.Hash{{events["AgentRegistered"].ID, events["AgentImported"].ID}, topics},
	})
	cancel()
	if err != nil {
		return chainErr("registration logs", err)
	}
	found := map[common.Address]store.Base{}
	for i := range logs {
		l := &logs[i]
		if l.Removed || len(l.Topics) < 2 {
			continue
		}
		var b store.Base
		switch l.Topics[0] {
		case events["AgentRegistered"].ID:
			ev, err := w.abi.UnpackAgentRegisteredEvent(l)
			if err != nil || !ev.InitialCredit.IsUint64() {
				return problem("chain error", fmt.Errorf("AgentRegistered in tx %s: %v", l.TxHash, err))
			}
			b = store.Base{Agent: ev.Agent, Upload: ev.InitialCredit.Uint64()}
		default:
			ev, err := w.abi.UnpackAgentImportedEvent(l)
			if err != nil || !ev.UploadBytes.IsUint64() || !ev.DownloadBytes.IsUint64() {
				return problem("chain error", fmt.Errorf("AgentImported in tx %s: %v", l.TxHash, err))
			}
			b = store.Base{Agent: ev.Agent, Upload: ev.UploadBytes.Uint64(), Download: ev.DownloadBytes.Uint64()}
		}
		if _, dup := found[b.Agent]; !dup { // an agent registers on a contract once
			found[b.Agent] = b
		}
	}
	var bases []store.Base
	for _, h := range topics {
		a := common.BytesToAddress(h[:])
		if b, ok := found[a]; ok {
			bases = append(bases, b)
			delete(w.noBase, a)
		} else {
			w.noBase[a] = now.Add(noBaseRetry)
			w.log.Warn("no registration event for a confirmed agent since the database was bound; its figures are read from the chain",
				"agent", a, "from_block", w.binding.BoundBlock)
		}
	}
	if err := w.st.ConfirmBases(ctx, bases); err != nil {
		return dbErr(err)
	}
	return nil
}
