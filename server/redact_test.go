package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://sepolia.infura.io/v3/SECRET":           "https://sepolia.infura.io",
		"https://eth.example.com:8443/?apikey=SECRET":   "https://eth.example.com:8443",
		"https://user:SECRET@rpc.example.com/x#SECRET":  "https://rpc.example.com",
		"wss://SECRET@rpc.example.com/ws/SECRET?SECRET": "wss://rpc.example.com",
		"http://127.0.0.1:8545":                         "http://127.0.0.1:8545",
		"/only/a/path/SECRET":                           "(unparsable)",
		"http://[::1%SECRET":                            "(unparsable)",
	} {
		got := RedactURL(in)
		if got != want || strings.Contains(got, "SECRET") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The client sends to the whole URL, while an error names only scheme and host.
func TestSecretURLClient(t *testing.T) {
	var got atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		got.Store(r.URL.RequestURI() + " " + u + ":" + p)
	}))
	defer ts.Close()
	raw := strings.Replace(ts.URL, "http://", "http://me:PW@", 1) + "/v3/KEY?apikey=QKEY"
	endpoint, c := SecretURLClient(raw)
	if endpoint != ts.URL || c == nil {
		t.Fatalf("SecretURLClient = %q, %v; want %q and a client", endpoint, c, ts.URL)
	}
	resp, err := c.Post(endpoint, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g, _ := got.Load().(string); g != "/v3/KEY?apikey=QKEY me:PW" {
		t.Errorf("server saw %q; want the path, query and credentials of the secret URL", g)
	}
	ts.Close()
	_, err = c.Post(endpoint, "application/json", strings.NewReader("{}"))
	if err == nil || strings.Contains(err.Error(), "KEY") || strings.Contains(err.Error(), "PW") {
		t.Errorf("error with the server gone: %v; want one without the secrets", err)
	}
	if e, c := SecretURLClient("ws://h/KEY"); e != "ws://h/KEY" || c != nil {
		t.Errorf("ws URL: %q, %v; want it unchanged and no client", e, c)
	}
}
