package server

import (
	"net/http"
	"net/url"
)

// RedactURL is what a log may show of an endpoint URL: its scheme and host
// (with the port), nothing else. Hosted JSON-RPC URLs carry API keys in the
// path (https://mainnet.infura.io/v3/KEY), the query (?apikey=KEY) or the
// user info (https://user:KEY@host), so none of those is ever logged. A URL
// that does not parse, or has no host, is shown as "(unparsable)".
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host
}

// SecretURLClient keeps an http(s) endpoint's secret parts out of the
// errors of a client library: it returns RedactURL(raw), to give the
// library as its endpoint, and an http.Client that sends every request for
// that bare URL to raw's path and query, with raw's user info as basic
// auth. net/http names the URL in its errors (Post "https://host/v3/KEY":
// dial tcp …); with this client they name scheme://host only. For any
// other URL (ws://, unparsable) it returns raw and a nil client: use the
// library's default.
func SecretURLClient(raw string) (endpoint string, c *http.Client) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return raw, nil
	}
	return RedactURL(raw), &http.Client{Transport: secretURL{u: u, next: http.DefaultTransport}}
}

type secretURL struct {
	u    *url.URL
	next http.RoundTripper
}

func (t secretURL) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != t.u.Scheme || r.URL.Host != t.u.Host || (r.URL.Path != "" && r.URL.Path != "/") || r.URL.RawQuery != "" {
		return t.next.RoundTrip(r) // not the bare endpoint (a redirect): as asked
	}
	r = r.Clone(r.Context())
	full := *t.u
	full.User, full.Fragment = nil, ""
	r.URL = &full
	if t.u.User != nil {
		pw, _ := t.u.User.Password()
		r.SetBasicAuth(t.u.User.Username(), pw)
	}
	return t.next.RoundTrip(r)
}
