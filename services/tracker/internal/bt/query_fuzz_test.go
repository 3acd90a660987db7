package bt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fzAnnounce is a well-formed announce query with extra appended raw.
func fzAnnounce(extra string) string {
	q := "info_hash=" + url.QueryEscape(string(testIH[:])) + "&peer_id=" + url.QueryEscape(string(testPID[:])) +
		"&port=6881&uploaded=0&downloaded=0&left=1000"
	if extra != "" {
		q += "&" + extra
	}
	return q
}

func fzAnnounceSeeds(f *testing.F) {
	f.Add(fzAnnounce(""))
	f.Add(fzAnnounce("event=started&compact=1&numwant=50&ipv6=%5B2001:db8::1%5D:6881"))
	f.Add(fzAnnounce("event=stopped&compact=0&no_peer_id=1&ipv4=198.51.100.7"))
	f.Add(fzAnnounce("numwant=99999999999999999999&event=paused"))
	f.Add(fzAnnounce("numwant=-99999999999999999999&event=completed&key=abc"))
	f.Add(fzAnnounce("info_hash=" + url.QueryEscape(string(testIH[:])))) // a second info_hash
	f.Add(strings.Replace(fzAnnounce(""), "info_hash", "info%5Fhash", 1))
	f.Add(strings.Replace(fzAnnounce(""), "port=6881", "port=0", 1))
	f.Add(strings.Replace(fzAnnounce(""), "port=6881", "port=65536", 1))
	f.Add(strings.Replace(fzAnnounce(""), "port=6881", "port=+1", 1))
	f.Add(strings.Replace(fzAnnounce(""), "left=1000", "left=18446744073709551616", 1))
	f.Add("info_hash=%&&&=")
	f.Add("info_hash=%4")
	f.Add("=&&=%zz&" + strings.Repeat("a", 40))
	f.Add("")
}

// FuzzAnnounceQuery parses arbitrary announce query strings. Properties:
// no panic; an accepted announce holds a 20-byte info hash and peer id that
// are exactly what a standard form decoder (net/url) reads from the query
// when it can read it, a port in 1..65535, a numwant of -1 (absent or
// negative) to 1<<30, a known event; its BEP 7 hints, when kept, are
// usable addresses of the asked family; and a query over the length limit
// is always refused.
func FuzzAnnounceQuery(f *testing.F) {
	fzAnnounceSeeds(f)
	f.Fuzz(func(t *testing.T, q string) {
		const maxLen = 1024
		var req AnnounceRequest
		ipv4, ipv6, err := parseAnnounce(q, maxLen, &req)
		if err != nil {
			if _, ok := err.(ClientError); !ok {
				t.Fatalf("refusal %T %v is not a ClientError (its text would not reach the client)", err, err)
			}
			return
		}
		if len(q) > maxLen {
			t.Fatalf("accepted a %d-byte query over the %d limit", len(q), maxLen)
		}
		if req.Port == 0 {
			t.Fatal("accepted port 0")
		}
		if req.NumWant < -1 || req.NumWant > 1<<30 {
			t.Fatalf("numwant %d out of [-1, 1<<30]", req.NumWant)
		}
		if req.Event > EventPaused {
			t.Fatalf("event %d", req.Event)
		}
		if vals, err := url.ParseQuery(q); err == nil {
			ih, pid, port := vals["info_hash"], vals["peer_id"], vals["port"]
			if len(ih) != 1 || ih[0] != string(req.InfoHash[:]) {
				t.Fatalf("info_hash %x; net/url reads %q", req.InfoHash, ih)
			}
			if len(pid) == 0 || pid[len(pid)-1] != string(req.PeerID[:]) {
				t.Fatalf("peer_id %x; net/url reads %q", req.PeerID, pid)
			}
			if len(port) == 0 {
				t.Fatalf("port %d; net/url reads none", req.Port)
			}
			if p, err := strconv.ParseUint(port[len(port)-1], 10, 16); err != nil || p != uint64(req.Port) {
				t.Fatalf("port %d; net/url reads %q", req.Port, port)
			}
		}
		for _, h := range []struct {
			v     string
			want6 bool
		}{{ipv4, false}, {ipv6, true}} {
			ap, ok := parseHint(h.v, req.Port, h.want6)
			if !ok {
				if ap.IsValid() {
					t.Fatalf("hint %q ignored but returned %v", h.v, ap)
				}
				continue
			}
			if a := ap.Addr(); a.Is6() != h.want6 || !usable(a) || a.Zone() != "" || ap.Port() == 0 {
				t.Fatalf("hint %q kept as %v (want IPv6 %v, usable, no zone, a port)", h.v, ap, h.want6)
			}
		}
	})
}

// FuzzScrapeQuery parses arbitrary scrape query strings. Properties: no
// panic; an accepted scrape has 1 to the limit of info hashes, each exactly
// the 20 bytes net/url decodes (when it can read the query and no key is
// escaped); a query net/url reads as 1 to the limit of 20-byte info hashes
// is accepted.
func FuzzScrapeQuery(f *testing.F) {
	one := "info_hash=" + url.QueryEscape(string(testIH[:]))
	f.Add(one)
	f.Add(one + "&" + one + "&info_hash=" + strings.Repeat("%00", 20))
	f.Add(strings.Repeat(one+"&", 5) + "passkey=x")
	f.Add(strings.TrimSuffix(strings.Repeat(one+"&", 6), "&")) // over a limit of 5
	f.Add("info_hash=short")
	f.Add("info_hash=" + strings.Repeat("%", 20))
	f.Add("info%5Fhash=" + url.QueryEscape(string(testIH[:])))
	f.Add("")
	f.Add("&&&")
	f.Fuzz(func(t *testing.T, q string) {
		const maxLen, maxHashes = 2048, 5
		var req ScrapeRequest
		err := parseScrape(q, maxLen, maxHashes, &req)
		if err == nil && (len(req.InfoHashes) < 1 || len(req.InfoHashes) > maxHashes || len(q) > maxLen) {
			t.Fatalf("accepted %d info hashes of a %d-byte query", len(req.InfoHashes), len(q))
		}
		if err != nil {
			if _, ok := err.(ClientError); !ok {
				t.Fatalf("refusal %T %v is not a ClientError", err, err)
			}
		}
		vals, uerr := url.ParseQuery(q)
		if uerr != nil || strings.ContainsAny(q, "+%") && keysEscaped(q) {
			return
		}
		ih := vals["info_hash"]
		all20 := len(ih) >= 1 && len(ih) <= maxHashes
		for _, v := range ih {
			all20 = all20 && len(v) == 20
		}
		if all20 && len(q) <= maxLen && err != nil {
			t.Fatalf("refused %d valid info hashes: %v", len(ih), err)
		}
		if err == nil {
			if len(ih) != len(req.InfoHashes) {
				t.Fatalf("%d info hashes; net/url reads %d", len(req.InfoHashes), len(ih))
			}
			for i, h := range req.InfoHashes {
				if string(h[:]) != ih[i] {
					t.Fatalf("info hash %d is %x; net/url reads %x", i, h, ih[i])
				}
			}
		}
	})
}

// keysEscaped reports whether a key of q holds an escape ('%' or '+'):
// net/url decodes those, the scrape parser matches keys as sent.
func keysEscaped(q string) bool {
	for kv := range strings.SplitSeq(q, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "+%") {
			return true
		}
	}
	return false
}

// fzLogic answers announces and scrapes from what it was asked, so the
// encoders see addresses of both families and both peer models.
type fzLogic struct{ t *testing.T }

func (l fzLogic) Announce(ctx context.Context, req *AnnounceRequest, resp *AnnounceResponse) error {
	t := l.t
	switch {
	case !validPasskey(req.Passkey):
		t.Fatalf("logic got passkey %q", req.Passkey)
	case req.Port == 0 || req.Addr.Port() != req.Port || !req.Addr.Addr().IsValid():
		t.Fatalf("logic got port %d, address %v", req.Port, req.Addr)
	case req.Hint.IsValid() && (req.Hint.Addr().Is4() == req.Addr.Addr().Is4() || !public(req.Hint.Addr())):
		t.Fatalf("logic got hint %v beside %v (a private hint, or of the same family)", req.Hint, req.Addr)
	}
	if req.InfoHash[0] == 0xee {
		return ClientError("refused by the logic")
	}
	if req.InfoHash[0] == 0xef {
		return context.DeadlineExceeded // an internal error
	}
	resp.Interval, resp.MinInterval = 15*time.Minute, time.Minute
	resp.Complete, resp.Incomplete, resp.Downloaded = int(req.Port), req.NumWant, int(req.Event)
	for _, ap := range []netip.AddrPort{req.Addr, req.Hint} {
		if !ap.IsValid() {
			continue
		}
		if resp.Compact {
			if ap.Addr().Is4() {
				a := ap.Addr().As4()
				resp.IPv4 = append(append(resp.IPv4, a[:]...), byte(ap.Port()>>8), byte(ap.Port()))
			} else {
				a := ap.Addr().As16()
				resp.IPv6 = append(append(resp.IPv6, a[:]...), byte(ap.Port()>>8), byte(ap.Port()))
			}
		} else {
			resp.Peers = append(resp.Peers, Peer{ID: req.PeerID, Addr: ap})
		}
	}
	return nil
}

func (l fzLogic) Scrape(ctx context.Context, req *ScrapeRequest, resp *ScrapeResponse) error {
	if n := len(req.InfoHashes); n == 0 || n > DefaultConfig().MaxScrapeInfoHashes {
		l.t.Fatalf("logic got a scrape of %d info hashes", n)
	}
	for i, h := range req.InfoHashes {
		resp.Files = append(resp.Files, ScrapeFile{InfoHash: h, Complete: i, Incomplete: int(h[0]), Downloaded: -i})
	}
	return nil
}

// FuzzTrackerHandler drives the real http.Handler with arbitrary paths,
// raw queries, client addresses and proxy headers. Properties: no panic;
// every answer is exactly one bencoded dictionary (a failure reason, an
// announce or a scrape answer); /announce/ and /scrape/ answer 200 (refusals
// included, as BitTorrent clients expect), anything else 404; the logic
// only ever sees requests within the handler's promises (checked in fzLogic).
func FuzzTrackerHandler(f *testing.F) {
	const pk = "0123456789abcdef0123456789abcdef"
	for _, q := range []string{fzAnnounce(""), fzAnnounce("compact=0&ipv6=2001:db8::7"), fzAnnounce("ipv4=203.0.113.9:80"),
		fzAnnounce("ipv4=10.0.0.1&ipv6=::1"), "info_hash=%ee" + strings.Repeat("a", 19) + "&peer_id=" + strings.Repeat("b", 20) + "&port=1&left=0",
		"info_hash=%ef" + strings.Repeat("a", 19) + "&peer_id=" + strings.Repeat("b", 20) + "&port=1&left=0", "info_hash=x"} {
		f.Add("/announce/"+pk, q, "192.0.2.1:5000", "")
		f.Add("/announce/"+pk, q, "[2001:db8::2]:5000", "")
	}
	f.Add("/announce/"+pk, fzAnnounce(""), "10.1.1.1:1", "198.51.100.1, 203.0.113.2")
	f.Add("/announce/"+pk, fzAnnounce(""), "10.1.1.1:1", "garbage")
	f.Add("/scrape/"+pk, "info_hash="+url.QueryEscape(string(testIH[:]))+"&info_hash="+strings.Repeat("z", 20), "192.0.2.1:5000", "")
	f.Add("/scrape/"+pk, "", "192.0.2.1:5000", "")
	f.Add("/announce", "", "192.0.2.1:5000", "")
	f.Add("/announce/", fzAnnounce(""), "192.0.2.1:5000", "")
	f.Add("/announce/bad/passkey", fzAnnounce(""), "192.0.2.1:5000", "")
	f.Add("/", "", "", "")
	f.Add("/announce/"+pk, fzAnnounce(""), "not an address", "")
	cfg := DefaultConfig()
	cfg.AnnounceRate = 0 // the limit has its own tests; here every request reaches the parser
	cfg.RealIPHeader, cfg.TrustedProxies = "X-Real-IP", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, path, query, remote, forwarded string) {
		h, err := NewHandler(fzLogic{t}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: query}, RemoteAddr: remote,
			Header: http.Header{"X-Real-Ip": {forwarded}}}
		r = r.WithContext(context.Background())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.Bytes()
		ours := strings.HasPrefix(path, AnnouncePath+"/") || strings.HasPrefix(path, ScrapePath+"/") || path == AnnouncePath || path == ScrapePath
		if want := map[bool]int{true: 200, false: 404}[ours]; w.Code != want {
			t.Fatalf("%q answered %d, want %d", path, w.Code, want)
		}
		n, err := fzBencodeValue(body, 0, 0)
		if err != nil || n != len(body) || len(body) == 0 || body[0] != 'd' {
			t.Fatalf("answer is not one bencoded dictionary (%v at %d of %d): %q", err, n, len(body), body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Fatalf("content type %q", ct)
		}
	})
}

type fzBencodeError string

func (e fzBencodeError) Error() string { return string(e) }

// fzBencodeValue checks the strict bencode value at b[i:] (canonical
// integers, dictionary keys strings in strictly increasing order) and
// returns the index after it.
func fzBencodeValue(b []byte, i, depth int) (int, error) {
	if depth > 8 {
		return i, fzBencodeError("nested too deep")
	}
	if i >= len(b) {
		return i, fzBencodeError("truncated")
	}
	switch c := b[i]; {
	case c == 'i':
		j := i + 1
		for j < len(b) && b[j] != 'e' {
			j++
		}
		if j >= len(b) {
			return j, fzBencodeError("unterminated integer")
		}
		s := string(b[i+1 : j])
		if n, err := strconv.ParseInt(s, 10, 64); err != nil || strconv.FormatInt(n, 10) != s {
			return i, fzBencodeError("non-canonical integer " + s)
		}
		return j + 1, nil
	case '0' <= c && c <= '9':
		j := i
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		if j >= len(b) || b[j] != ':' {
			return j, fzBencodeError("string without ':'")
		}
		s := string(b[i:j])
		n, err := strconv.Atoi(s)
		if err != nil || strconv.Itoa(n) != s || j+1+n > len(b) {
			return i, fzBencodeError("bad string length " + s)
		}
		return j + 1 + n, nil
	case c == 'l':
		i++
		for i < len(b) && b[i] != 'e' {
			var err error
			if i, err = fzBencodeValue(b, i, depth+1); err != nil {
				return i, err
			}
		}
		if i >= len(b) {
			return i, fzBencodeError("unterminated list")
		}
		return i + 1, nil
	case c == 'd':
		i++
		var last string
		for first := true; i < len(b) && b[i] != 'e'; first = false {
			if b[i] < '0' || b[i] > '9' {
				return i, fzBencodeError("dictionary key not a string")
			}
			j, err := fzBencodeValue(b, i, depth+1)
			if err != nil {
				return j, err
			}
			_, key, _ := strings.Cut(string(b[i:j]), ":")
			if !first && key <= last {
				return i, fzBencodeError("dictionary keys out of order at " + strconv.Quote(key))
			}
			last = key
			if i, err = fzBencodeValue(b, j, depth+1); err != nil {
				return i, err
			}
		}
		if i >= len(b) {
			return i, fzBencodeError("unterminated dictionary")
		}
		return i + 1, nil
	}
	return i, fzBencodeError("not a bencode value")
}
