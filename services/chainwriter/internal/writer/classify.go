package writer

import (
	"context"
	"errors"
	"strings"

	"github.com/ethereum/go-ethereum/rpc"
)

// Class is the writer's reading of an eth_sendRawTransaction error; each has
// its reaction (see the writer's broadcast).
type Class string

// Classes, also the "class" label of the tx errors metric.
const (
	// ClassNone: accepted.
	ClassNone Class = ""
	// ClassAlreadyKnown: the node has this very transaction: as good as accepted.
	ClassAlreadyKnown Class = "already_known"
	// ClassNonceTooLow: the nonce is used: one of our versions was included
	// (find its receipt) or another transaction used it (re-sync, resend the work).
	ClassNonceTooLow Class = "nonce_too_low"
	// ClassUnderpriced: another transaction with this nonce pays as much or
	// more: bump the fees now.
	ClassUnderpriced Class = "replacement_underpriced"
	// ClassFeeTooLow: the fee cap is under the base fee or the node's
	// minimum: re-sign with current fees.
	ClassFeeTooLow Class = "fee_too_low"
	// ClassInsufficientFunds: the signer cannot pay gas × fee cap: report
	// unhealthy, keep the transaction, retry after backoff (no bump: it would
	// cost more).
	ClassInsufficientFunds Class = "insufficient_funds"
	// ClassRejected: the node refuses the transaction itself (gas limit,
	// size): retrying the same bytes cannot help; logged for the operator.
	ClassRejected Class = "rejected"
	// ClassUnavailable: no answer (connection, timeout, HTTP error): the chain
	// endpoint is down; back off.
	ClassUnavailable Class = "unavailable"
	// ClassOther: any other error answered by the node; retried.
	ClassOther Class = "other"
)

// Messages from geth, anvil, reth, erigon, nethermind and besu, lowercased.
var classes = []struct {
	class Class
	subs  []string
}{
	{ClassAlreadyKnown, []string{"already known", "already imported", "known transaction", "alreadyknown", "already in the mempool", "already exists"}},
	{ClassNonceTooLow, []string{"nonce too low", "nonce is too low", "oldnonce", "nonce has already been used", "invalid nonce; got"}},
	{ClassUnderpriced, []string{"replacement transaction underpriced", "replacement fee too low", "replacement underpriced", "replacementnotallowed", "replacement transaction"}},
	{ClassInsufficientFunds, []string{"insufficient funds", "insufficient balance", "insufficientfunds"}},
	{ClassFeeTooLow, []string{"less than block base fee", "fee cap less than", "feecap too low", "transaction underpriced", "underpriced", "max fee per gas less than", "fee too low"}},
	{ClassRejected, []string{"intrinsic gas too low", "exceeds block gas limit", "oversized data", "gas limit reached", "invalid sender", "tip higher than fee cap", "max priority fee per gas higher than max fee per gas", "tx type not supported", "invalid chain id", "chain id mismatch"}},
}

// Classify reads an error of SendTransaction.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var rpcErr rpc.Error
	if !errors.As(err, &rpcErr) {
		// Transport failures, timeouts and HTTP status errors: nobody answered.
		return ClassUnavailable
	}
	msg := strings.ToLower(err.Error())
	for _, c := range classes {
		for _, s := range c.subs {
			if strings.Contains(msg, s) {
				return c.class
			}
		}
	}
	return ClassOther
}

// unavailable tells whether an error of a chain read means the endpoint did
// not answer (as opposed to answering with an error).
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var rpcErr rpc.Error
	return !errors.As(err, &rpcErr)
}
