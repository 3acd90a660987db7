package registry_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/services/tracker/internal/registry"
)

// TestSignedRequestsRateLimited: registrations and rotations share a
// per-address bucket (the test clock stands still, so nothing refills).
func TestSignedRequestsRateLimited(t *testing.T) {
	e := newEnv(t, func(c *registry.Config) { c.SignedBurst, c.SignedEvery = 3, time.Minute })
	k, _ := e.register(t)
	e.register(t)
	if _, err := e.agents.RotatePasskey(ctx, e.rotateReq(t, k, domain, e.ts()+1)); err != nil {
		t.Fatalf("third signed request within the burst: %v", err)
	}
	_, err := e.agents.RegisterAgent(ctx, e.registerReq(t, newKey(t), domain, e.ts()))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("fourth signed request at once: %v, want ResourceExhausted", err)
	}
	e.now = e.now.Add(time.Minute)
	if _, err := e.agents.RegisterAgent(ctx, e.registerReq(t, newKey(t), domain, e.ts())); err != nil {
		t.Fatalf("after the refill interval: %v", err)
	}
}
