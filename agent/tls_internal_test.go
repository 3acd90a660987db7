package agent

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	trHttp "github.com/anacrolix/torrent/tracker/http"

	"github.com/pbts/pbts/server/tlstest"
)

// announceThrough announces to trackerURL with anacrolix's own HTTP
// tracker client (which skips certificate checks) through the dialer
// trackerTLS installs for an agent trusting caFile.
func announceThrough(t *testing.T, caFile, trackerURL string) error {
	t.Helper()
	a := &Agent{cfg: Config{TLSCA: caFile}, log: logger{func(s string) { t.Log(s) }}}
	opt, err := a.trackerTLS()
	if err != nil {
		t.Fatal(err)
	}
	var cfg torrent.ClientConfig
	opt(&cfg)
	u, err := url.Parse(trackerURL)
	if err != nil {
		t.Fatal(err)
	}
	cl := trHttp.NewClient(u, trHttp.NewClientOpts{DialContext: cfg.TrackerDialContext, ServerName: u.Hostname()})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cl.Announce(ctx, trHttp.AnnounceRequest{Left: 0, Port: 6881}, trHttp.AnnounceOpt{})
	return err
}

// trackerServer answers every announce and counts the passkeys it saw.
func trackerServer(t *testing.T, ca *tlstest.CA, useTLS bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var seen atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/announce/secretpasskey") {
			seen.Add(1)
		}
		w.Write([]byte("d8:intervali60e5:peers0:e"))
	}))
	if useTLS {
		srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Issue("tracker").Certificate(t)}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestHTTPSAnnounceVerifiesTheTracker(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	srv, seen := trackerServer(t, ca, true)
	if err := announceThrough(t, ca.CertFile, srv.URL+"/announce/secretpasskey"); err != nil {
		t.Fatalf("https announce with the tracker's CA: %v", err)
	}
	if seen.Load() != 1 {
		t.Fatalf("tracker saw %d announces, want 1", seen.Load())
	}
	// A tracker whose certificate the agent does not trust never sees the passkey.
	other := tlstest.NewCA(t, "other")
	if err := announceThrough(t, other.CertFile, srv.URL+"/announce/secretpasskey"); err == nil {
		t.Fatal("https announce to an untrusted tracker succeeded")
	}
	if err := announceThrough(t, "", srv.URL+"/announce/secretpasskey"); err == nil {
		t.Fatal("https announce to a tracker of a private CA succeeded with the system roots")
	}
	if seen.Load() != 1 {
		t.Fatalf("tracker saw %d announces, want still 1: the passkey reached an unverified connection", seen.Load())
	}
}

func TestPlainHTTPAnnounceStillWorks(t *testing.T) {
	srv, seen := trackerServer(t, nil, false)
	if err := announceThrough(t, "", srv.URL+"/announce/secretpasskey"); err != nil {
		t.Fatalf("http announce: %v", err)
	}
	if seen.Load() != 1 {
		t.Fatalf("tracker saw %d announces, want 1", seen.Load())
	}
}
