package server

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// ForwardedForKey is the gRPC metadata key in which the REST gateway passes
// on the address of its HTTP client.
const ForwardedForKey = "x-pbts-forwarded-for"

// ParsePrefixes reads a comma-separated list of CIDRs (a bare address is
// its /32 or /128).
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pre, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, err
		}
		out = append(out, pre.Masked())
	}
	return out, nil
}

// forwarded makes a trusted proxy's (the gateway's) ForwardedForKey the
// call's peer address, so that PeerIP, and the per-address limits behind
// it, see the real client. From anyone else the key is ignored.
type forwarded []netip.Prefix

func (f forwarded) rewrite(ctx context.Context) context.Context {
	if len(f) == 0 {
		return ctx
	}
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	v := md.Get(ForwardedForKey)
	if len(v) != 1 {
		return ctx
	}
	from := PeerIP(ctx)
	trusted := false
	for _, p := range f {
		if from.IsValid() && p.Contains(from) {
			trusted = true
			break
		}
	}
	client, err := netip.ParseAddr(strings.TrimSpace(v[0]))
	if !trusted || err != nil {
		return ctx
	}
	p, _ := peer.FromContext(ctx)
	np := &peer.Peer{Addr: &net.TCPAddr{IP: client.Unmap().AsSlice()}}
	if p != nil {
		np.AuthInfo, np.LocalAddr = p.AuthInfo, p.LocalAddr
	}
	return peer.NewContext(ctx, np)
}

func (f forwarded) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(f.rewrite(ctx), req)
}

type forwardedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s forwardedStream) Context() context.Context { return s.ctx }

func (f forwarded) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, forwardedStream{ss, f.rewrite(ss.Context())})
}
