package bt

import (
	"net/url"
	"strings"
	"testing"
)

var (
	testIH  = InfoHash{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x20, 0x2b, 0x25, 0x00}
	testPID = PeerID{'-', 'q', 'B', '4', '5', '2', '0', '-', 0xff, 0x00, ' ', '+', '%', 'a', 'b', 'c', 'd', 'e', 'f', 'g'}
)

// query builds an announce query with url.QueryEscape (so spaces become
// '+', as Go clients send them); extra is appended raw.
func query(extra string) string {
	q := "info_hash=" + url.QueryEscape(string(testIH[:])) +
		"&peer_id=" + url.QueryEscape(string(testPID[:])) +
		"&port=6881&uploaded=10&downloaded=20&left=30"
	if extra != "" {
		q += "&" + extra
	}
	return q
}

func TestParseAnnounce(t *testing.T) {
	base := AnnounceRequest{InfoHash: testIH, PeerID: testPID, Port: 6881, Uploaded: 10, Downloaded: 20, Left: 30, NumWant: -1, Compact: true}
	with := func(f func(*AnnounceRequest)) AnnounceRequest { r := base; f(&r); return r }
	tests := []struct {
		name     string
		q        string
		want     AnnounceRequest
		wantErr  string
		ipv4, v6 string
	}{
		{name: "minimal", q: query(""), want: base},
		{name: "all escaped bytes", q: "info_hash=" + escapeAll(testIH[:]) + "&peer_id=" + escapeAll(testPID[:]) + "&port=6881&uploaded=10&downloaded=20&left=30", want: base},
		{name: "event started", q: query("event=started"), want: with(func(r *AnnounceRequest) { r.Event = EventStarted })},
		{name: "event stopped", q: query("event=stopped"), want: with(func(r *AnnounceRequest) { r.Event = EventStopped })},
		{name: "event completed", q: query("event=completed"), want: with(func(r *AnnounceRequest) { r.Event = EventCompleted })},
		{name: "event paused", q: query("event=paused"), want: with(func(r *AnnounceRequest) { r.Event = EventPaused })},
		{name: "event empty", q: query("event="), want: base},
		{name: "event literal empty", q: query("event=empty"), want: base},
		{name: "numwant", q: query("numwant=80"), want: with(func(r *AnnounceRequest) { r.NumWant = 80 })},
		{name: "numwant zero", q: query("numwant=0"), want: with(func(r *AnnounceRequest) { r.NumWant = 0 })},
		{name: "numwant negative", q: query("numwant=-5"), want: base},
		{name: "numwant huge", q: query("numwant=99999999999999"), want: with(func(r *AnnounceRequest) { r.NumWant = 1 << 30 })},
		{name: "compact 0", q: query("compact=0"), want: with(func(r *AnnounceRequest) { r.Compact = false })},
		{name: "compact 1", q: query("compact=1"), want: base},
		{name: "no_peer_id", q: query("no_peer_id=1&compact=0"), want: with(func(r *AnnounceRequest) { r.NoPeerID, r.Compact = true, false })},
		{name: "unknown and empty params ignored", q: "&&" + query("key=abc&supportcrypto=1&corrupt=0&trackerid=&x"), want: base},
		{name: "escaped key", q: strings.Replace(query(""), "port=", "po%72t=", 1), want: base},
		{name: "ip hints kept raw", q: query("ipv4=192.0.2.1&ipv6=2001%3Adb8%3A%3A1"), want: base, ipv4: "192.0.2.1", v6: "2001%3Adb8%3A%3A1"},
		{name: "left zero", q: strings.Replace(query(""), "left=30", "left=0", 1), want: with(func(r *AnnounceRequest) { r.Left = 0 })},
		{name: "max uint64", q: strings.Replace(query(""), "uploaded=10", "uploaded=18446744073709551615", 1), want: with(func(r *AnnounceRequest) { r.Uploaded = 1<<64 - 1 })},
		{name: "uploaded and downloaded optional", q: "info_hash=" + escapeAll(testIH[:]) + "&peer_id=" + escapeAll(testPID[:]) + "&port=1&left=5", want: AnnounceRequest{InfoHash: testIH, PeerID: testPID, Port: 1, Left: 5, NumWant: -1, Compact: true}},

		{name: "empty query", q: "", wantErr: "missing info_hash"},
		{name: "missing info_hash", q: "peer_id=" + escapeAll(testPID[:]) + "&port=1&left=0", wantErr: "missing info_hash"},
		{name: "missing peer_id", q: "info_hash=" + escapeAll(testIH[:]) + "&port=1&left=0", wantErr: "missing peer_id"},
		{name: "missing port", q: "info_hash=" + escapeAll(testIH[:]) + "&peer_id=" + escapeAll(testPID[:]) + "&left=0", wantErr: "missing port"},
		{name: "missing left", q: "info_hash=" + escapeAll(testIH[:]) + "&peer_id=" + escapeAll(testPID[:]) + "&port=1", wantErr: "missing left"},
		{name: "short info_hash", q: "info_hash=" + escapeAll(testIH[:19]) + "&peer_id=" + escapeAll(testPID[:]) + "&port=1&left=0", wantErr: "info_hash must be 20 bytes, got 19"},
		{name: "long info_hash", q: "info_hash=" + escapeAll(testIH[:]) + "00&peer_id=" + escapeAll(testPID[:]) + "&port=1&left=0", wantErr: "info_hash must be 20 bytes, got 22"},
		{name: "hex info_hash", q: "info_hash=" + testIH.String() + "&peer_id=" + escapeAll(testPID[:]) + "&port=1&left=0", wantErr: "info_hash must be 20 bytes, got 40"},
		{name: "short peer_id", q: "info_hash=" + escapeAll(testIH[:]) + "&peer_id=abc&port=1&left=0", wantErr: "peer_id must be 20 bytes, got 3"},
		{name: "duplicate info_hash", q: query("info_hash=" + escapeAll(testIH[:])), wantErr: "exactly one info_hash"},
		{name: "bad escape", q: "info_hash=%zz" + escapeAll(testIH[1:]) + "&peer_id=" + escapeAll(testPID[:]) + "&port=1&left=0", wantErr: "invalid percent-encoding"},
		{name: "truncated escape", q: query("x=1") + "&peer_id=%4", wantErr: "invalid percent-encoding"},
		{name: "lone percent", q: "info_hash=%&port=1", wantErr: "invalid percent-encoding"},
		{name: "bad escape in key", q: "info%zzhash=1&" + query(""), wantErr: "invalid percent-encoding"},
		{name: "port zero", q: strings.Replace(query(""), "port=6881", "port=0", 1), wantErr: "port must be"},
		{name: "port too big", q: strings.Replace(query(""), "port=6881", "port=65536", 1), wantErr: "port must be"},
		{name: "port negative", q: strings.Replace(query(""), "port=6881", "port=-1", 1), wantErr: "port must be"},
		{name: "port text", q: strings.Replace(query(""), "port=6881", "port=http", 1), wantErr: "port must be"},
		{name: "port empty", q: strings.Replace(query(""), "port=6881", "port=", 1), wantErr: "port must be"},
		{name: "uploaded text", q: strings.Replace(query(""), "uploaded=10", "uploaded=ten", 1), wantErr: "uploaded must be"},
		{name: "downloaded negative", q: strings.Replace(query(""), "downloaded=20", "downloaded=-20", 1), wantErr: "downloaded must be"},
		{name: "left overflow", q: strings.Replace(query(""), "left=30", "left=18446744073709551616", 1), wantErr: "left must be"},
		{name: "left float", q: strings.Replace(query(""), "left=30", "left=3.5", 1), wantErr: "left must be"},
		{name: "left plus sign", q: strings.Replace(query(""), "left=30", "left=+30", 1), wantErr: "left must be"},
		{name: "left empty", q: strings.Replace(query(""), "left=30", "left=", 1), wantErr: "left must be"},
		{name: "bad event", q: query("event=finished"), wantErr: "event must be"},
		{name: "bad numwant", q: query("numwant=lots"), wantErr: "numwant must be"},
		{name: "too long", q: query("pad=" + strings.Repeat("a", 5000)), wantErr: "query string too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got AnnounceRequest
			ipv4, ipv6, err := parseAnnounce(tc.q, 4096, &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if _, ok := err.(ClientError); !ok {
					t.Errorf("err is %T, want a ClientError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if ipv4 != tc.ipv4 || ipv6 != tc.v6 {
				t.Errorf("hints = %q, %q; want %q, %q", ipv4, ipv6, tc.ipv4, tc.v6)
			}
		})
	}
}

func escapeAll(b []byte) string {
	const hexdig = "0123456789ABCDEF"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte('%')
		sb.WriteByte(hexdig[c>>4])
		sb.WriteByte(hexdig[c&15])
	}
	return sb.String()
}

func TestParseScrape(t *testing.T) {
	ih2 := InfoHash{1: 2}
	many := strings.Repeat("info_hash="+escapeAll(testIH[:])+"&", 51)
	tests := []struct {
		name    string
		q       string
		want    []InfoHash
		wantErr string
	}{
		{name: "one", q: "info_hash=" + escapeAll(testIH[:]), want: []InfoHash{testIH}},
		{name: "several", q: "info_hash=" + escapeAll(testIH[:]) + "&peer_id=x&info_hash=" + escapeAll(ih2[:]), want: []InfoHash{testIH, ih2}},
		{name: "none", q: "", wantErr: "at least one info_hash"},
		{name: "only other params", q: "foo=bar&&", wantErr: "at least one info_hash"},
		{name: "too many", q: many, wantErr: "too many info_hash values (at most 50"},
		{name: "short", q: "info_hash=abc", wantErr: "info_hash must be 20 bytes, got 3"},
		{name: "bad escape", q: "info_hash=%G0", wantErr: "invalid percent-encoding"},
		{name: "too long", q: strings.Repeat("x", 4097), wantErr: "query string too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req ScrapeRequest
			err := parseScrape(tc.q, 4096, 50, &req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(req.InfoHashes) != len(tc.want) {
				t.Fatalf("got %v, want %v", req.InfoHashes, tc.want)
			}
			for i := range tc.want {
				if req.InfoHashes[i] != tc.want[i] {
					t.Errorf("hash %d = %v, want %v", i, req.InfoHashes[i], tc.want[i])
				}
			}
		})
	}
}

func TestValidPasskey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{"A-b_c.d~e", true},
		{"", false},
		{strings.Repeat("a", MaxPasskeyLength), true},
		{strings.Repeat("a", MaxPasskeyLength+1), false},
		{"abc/def", false},
		{"abc def", false},
		{"abc%20", false},
		{"ключ", false},
	} {
		if got := validPasskey(tc.in); got != tc.want {
			t.Errorf("validPasskey(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseHint(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want6 bool
		want  string // "" = ignored
	}{
		{"192.0.2.7", false, "192.0.2.7:6881"},
		{"192.0.2.7:7000", false, "192.0.2.7:7000"},
		{"192.0.2.7%3A7000", false, "192.0.2.7:7000"},
		{"2001:db8::1", true, "[2001:db8::1]:6881"},
		{"2001%3Adb8%3A%3A1", true, "[2001:db8::1]:6881"},
		{"[2001:db8::1]:51413", true, "[2001:db8::1]:51413"},
		{"%5B2001%3Adb8%3A%3A1%5D%3A51413", true, "[2001:db8::1]:51413"},
		{"2001:db8::1", false, ""}, // wrong family
		{"192.0.2.7", true, ""},    // wrong family
		{"::ffff:192.0.2.7", false, "192.0.2.7:6881"},
		{"fe80::1%25eth0", true, ""}, // link-local
		{"0.0.0.0", false, ""},       // unspecified
		{"224.0.0.1", false, ""},     // multicast
		{"192.0.2.7:0", false, ""},   // no port
		{"example.org", false, ""},   // not an address
		{"%zz", false, ""},           // bad escape
		{strings.Repeat("1", 200), false, ""},
	} {
		ap, ok := parseHint(tc.in, 6881, tc.want6)
		got := ""
		if ok {
			got = ap.String()
		}
		if got != tc.want {
			t.Errorf("parseHint(%q, v6=%v) = %q, want %q", tc.in, tc.want6, got, tc.want)
		}
	}
}

func TestParseAnnounceDoesNotAllocate(t *testing.T) {
	q := query("event=started&numwant=50&compact=1&key=abcd")
	var req AnnounceRequest
	allocs := testing.AllocsPerRun(100, func() {
		req = AnnounceRequest{}
		if _, _, err := parseAnnounce(q, 4096, &req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("parseAnnounce allocates %v times per call", allocs)
	}
}

func FuzzParseAnnounce(f *testing.F) {
	f.Add(query("event=started&ipv6=%5B::1%5D:1"))
	f.Add("info_hash=%&&&=")
	f.Add("info%5fhash=%41&port=99999999999&left=-1&numwant=-99999999999999")
	f.Fuzz(func(t *testing.T, q string) {
		var req AnnounceRequest
		ipv4, ipv6, err := parseAnnounce(q, 4096, &req)
		if err == nil {
			if req.Port == 0 {
				t.Fatal("accepted port 0")
			}
			parseHint(ipv4, req.Port, false)
			parseHint(ipv6, req.Port, true)
		}
		var sreq ScrapeRequest
		_ = parseScrape(q, 4096, 50, &sreq)
	})
}
