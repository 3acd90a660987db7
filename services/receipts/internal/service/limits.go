package service

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// SubmitReceipts' rate limits count receipts, not requests: a receipt is
// what costs (a signature recovery, a row), and an honest `pbts get` sends
// at most 64 a request, about one request a second per download. A request
// still costs at least minRequestCost (its round trip and transaction), so
// that a flood of one-receipt requests is bounded too.
//
// What to key on. The client address (server.ClientKey: an IPv4 address, an
// IPv6 /64) is known before anything is parsed and cannot be made up (over
// TCP; a trusted proxy's forwarded address is believed only from
// -trusted-proxies): it is charged first, for the whole request, so a flood
// from one address costs at most its rate in parsing, queries and
// signature checks. The agent is the receiver, who signs; but a receiver
// named in an unverified receipt is only a claim, and charging it before
// the signature would let anyone drain an honest agent's bucket with
// forgeries naming it (the fields of a valid-looking receipt are public).
// So the receiver's bucket is consulted, not charged, after the cheap
// checks (Precheck: the receiver is then a registered agent, so its buckets
// are bounded by the registry, not by what an attacker types): a receiver
// already over its rate gets its requests refused before any signature is
// recovered. It is charged after recovery, and only for the receipts whose
// signature recovered to it: receipts it really signed. An agent flooding
// with its own key is thus stopped at its rate, wherever it submits from,
// and nobody can spend its allowance but itself. A request naming a
// receiver over its rate is refused whole (there is no per-receipt refusal
// reason for it; the client retries after RetryInfo's delay).
const minRequestCost = 8

// exhausted is RESOURCE_EXHAUSTED with msg and, when known, a RetryInfo.
func exhausted(retry time.Duration, msg string) error {
	st := status.New(codes.ResourceExhausted, msg)
	if retry > 0 {
		if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)}); err == nil {
			st = d
		}
	}
	return st.Err()
}

func clientString(k netip.Addr) string {
	if k.Is6() {
		return k.String() + "/64"
	}
	return k.String()
}

// limitAddress charges the request's cost to its client address.
func (s *Service) limitAddress(ctx context.Context, n int, now time.Time) error {
	k := server.ClientKey(server.PeerIP(ctx))
	cost := max(n, minRequestCost)
	if s.byAddr.Allow(k, now, cost) {
		return nil
	}
	s.met.limited["submit_address"].Inc()
	wait := s.byAddr.Wait(k, now, cost)
	return exhausted(wait, fmt.Sprintf("receipts: client %s is over its submit rate (%g receipts/s, %d at once; a request counts at least %d); retry in %v; nothing was applied",
		clientString(k), s.byAddr.Rate(), s.byAddr.Burst(), minRequestCost, wait.Round(time.Millisecond)))
}

// limitReceivers refuses the request if a receiver of its undecided items
// (registered: Precheck ran) is over its rate.
func (s *Service) limitReceivers(items []ledger.Item, now time.Time) error {
	var last common.Address
	for i := range items {
		it := &items[i]
		if !it.Undecided() || it.Receipt.Receiver == last {
			continue
		}
		last = it.Receipt.Receiver
		if s.byAgent.Empty(last, now) {
			s.met.limited["submit_agent"].Inc()
			wait := s.byAgent.Wait(last, now, 1)
			return exhausted(wait, fmt.Sprintf("receipts: receiver %s is over its submit rate (%g receipts/s, %d at once); retry in %v; nothing was applied",
				last.Hex(), s.byAgent.Rate(), s.byAgent.Burst(), wait.Round(time.Millisecond)))
		}
	}
	return nil
}

// chargeReceivers charges each receiver the receipts that recovered to it.
func (s *Service) chargeReceivers(items []ledger.Item, now time.Time) {
	if s.byAgent.Rate() <= 0 {
		return
	}
	count := make(map[common.Address]int)
	for i := range items {
		if it := &items[i]; it.Undecided() {
			count[it.Receipt.Receiver]++
		}
	}
	for a, n := range count {
		s.byAgent.Charge(a, now, n)
	}
}
