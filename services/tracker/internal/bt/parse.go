package bt

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Refusals of malformed requests. They are ClientErrors: the client shows them.
var (
	errQueryTooLong     = ClientError("malformed request: query string too long")
	errBadEscape        = ClientError("malformed request: invalid percent-encoding in query string")
	errMissingInfoHash  = ClientError("malformed request: missing info_hash")
	errMissingPeerID    = ClientError("malformed request: missing peer_id")
	errMissingPort      = ClientError("malformed request: missing port")
	errMissingLeft      = ClientError("malformed request: missing left")
	errBadPort          = ClientError("malformed request: port must be a number from 1 to 65535")
	errBadEvent         = ClientError("malformed request: event must be started, stopped, completed, paused or empty")
	errBadNumWant       = ClientError("malformed request: numwant must be a number")
	errDupInfoHash      = ClientError("malformed request: an announce takes exactly one info_hash")
	errMissingPasskey   = ClientError("missing passkey: announce to /announce/<passkey> with the URL `pbts register` printed")
	errBadPasskey       = ClientError("malformed passkey: use the announce URL `pbts register` printed")
	errScrapeNoInfoHash = ClientError("scrape needs at least one info_hash: this private tracker does not list its torrents")
)

// parseAnnounce fills req (whose Passkey, Addr and Hint the caller sets) from
// a raw query string without allocating on success.
func parseAnnounce(q string, maxLen int, req *AnnounceRequest) (ipv4, ipv6 string, err error) {
	if len(q) > maxLen {
		return "", "", errQueryTooLong
	}
	var haveIH, havePeerID, havePort, haveLeft bool
	req.NumWant = -1
	req.Compact = true
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		var kbuf [16]byte
		if strings.ContainsAny(k, "%+") {
			n, err := unescapedLen(k)
			if err != nil {
				return "", "", err
			}
			if n > len(kbuf) {
				continue // no parameter we know is that long
			}
			unescape(kbuf[:n], k)
			k = string(kbuf[:n])
		}
		switch k {
		case "info_hash":
			if haveIH {
				return "", "", errDupInfoHash
			}
			if err := unescapeFixed(req.InfoHash[:], v, "info_hash"); err != nil {
				return "", "", err
			}
			haveIH = true
		case "peer_id":
			if err := unescapeFixed(req.PeerID[:], v, "peer_id"); err != nil {
				return "", "", err
			}
			havePeerID = true
		case "port":
			p, err := parseUint(v, 16)
			if err != nil || p == 0 {
				return "", "", errBadPort
			}
			req.Port = uint16(p)
			havePort = true
		case "uploaded":
			if req.Uploaded, err = parseUint(v, 64); err != nil {
				return "", "", badNumber("uploaded")
			}
		case "downloaded":
			if req.Downloaded, err = parseUint(v, 64); err != nil {
				return "", "", badNumber("downloaded")
			}
		case "left":
			if req.Left, err = parseUint(v, 64); err != nil {
				return "", "", badNumber("left")
			}
			haveLeft = true
		case "event":
			if req.Event, err = parseEvent(v); err != nil {
				return "", "", err
			}
		case "numwant":
			if req.NumWant, err = parseNumWant(v); err != nil {
				return "", "", err
			}
		case "compact":
			req.Compact = v != "0"
		case "no_peer_id":
			req.NoPeerID = v == "1"
		case "ipv4":
			ipv4 = v
		case "ipv6":
			ipv6 = v
		}
	}
	switch {
	case !haveIH:
		return "", "", errMissingInfoHash
	case !havePeerID:
		return "", "", errMissingPeerID
	case !havePort:
		return "", "", errMissingPort
	case !haveLeft:
		return "", "", errMissingLeft
	}
	return ipv4, ipv6, nil
}

// parseScrape appends the query's info hashes to req.InfoHashes.
func parseScrape(q string, maxLen, maxHashes int, req *ScrapeRequest) error {
	if len(q) > maxLen {
		return errQueryTooLong
	}
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != "info_hash" {
			continue
		}
		if len(req.InfoHashes) == maxHashes {
			return ClientError(fmt.Sprintf("malformed request: too many info_hash values (at most %d per scrape)", maxHashes))
		}
		var h InfoHash
		if err := unescapeFixed(h[:], v, "info_hash"); err != nil {
			return err
		}
		req.InfoHashes = append(req.InfoHashes, h)
	}
	if len(req.InfoHashes) == 0 {
		return errScrapeNoInfoHash
	}
	return nil
}

// validPasskey accepts 1..MaxPasskeyLength URL-safe characters.
func validPasskey(s string) bool {
	if len(s) == 0 || len(s) > MaxPasskeyLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

func badNumber(name string) error {
	return ClientError("malformed request: " + name + " must be a non-negative whole number of bytes")
}

func parseEvent(v string) (Event, error) {
	switch v {
	case "":
		return EventNone, nil
	case "started":
		return EventStarted, nil
	case "stopped":
		return EventStopped, nil
	case "completed":
		return EventCompleted, nil
	case "paused":
		return EventPaused, nil
	case "empty":
		return EventNone, nil
	}
	return EventNone, errBadEvent
}

func parseNumWant(v string) (int, error) {
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			if v[0] == '-' {
				return -1, nil
			}
			return 1 << 30, nil
		}
		return 0, errBadNumWant
	}
	if n < 0 {
		return -1, nil
	}
	return int(n), nil
}

// parseUint parses a decimal number; numbers are never percent-encoded by
// real clients, so escapes are not accepted here.
func parseUint(v string, bits int) (uint64, error) {
	if v == "" || v[0] == '+' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(v, 10, bits)
}

// unescapeFixed percent-decodes v (with '+' as space, like any form
// decoder) into dst, which it must fill exactly.
func unescapeFixed(dst []byte, v, name string) error {
	n, err := unescapedLen(v)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return ClientError(fmt.Sprintf("malformed request: %s must be %d bytes, got %d", name, len(dst), n))
	}
	unescape(dst, v)
	return nil
}

// unescapedLen checks v's escapes and returns its decoded length.
func unescapedLen(v string) (int, error) {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '%' {
			if i+2 >= len(v) || !ishex(v[i+1]) || !ishex(v[i+2]) {
				return 0, errBadEscape
			}
			i += 2
		}
		n++
	}
	return n, nil
}

// unescape decodes v, already checked by unescapedLen, into dst.
func unescape(dst []byte, v string) {
	j := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%':
			dst[j] = unhex(v[i+1])<<4 | unhex(v[i+2])
			i += 2
		case '+':
			dst[j] = ' '
		default:
			dst[j] = c
		}
		j++
	}
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// parseHint reads a BEP 7 ipv4=/ipv6= value: an address, or address:port
// ([address]:port for IPv6), possibly percent-encoded. It returns the
// endpoint when it is a usable unicast address of the wanted family;
// otherwise ok is false and the hint is ignored (hints are advisory).
func parseHint(v string, port uint16, want6 bool) (ap netip.AddrPort, ok bool) {
	if v == "" || len(v) > 128 {
		return ap, false
	}
	var buf [128]byte
	n, err := unescapedLen(v)
	if err != nil {
		return ap, false
	}
	unescape(buf[:n], v)
	s := string(buf[:n])
	if a, err := netip.ParseAddr(s); err == nil {
		ap = netip.AddrPortFrom(a, port)
	} else if ap, err = netip.ParseAddrPort(s); err != nil || ap.Port() == 0 {
		return ap, false
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() != want6 || !usable(a) {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, ap.Port()), true
}

// sharedV4 is RFC 6598's carrier-grade NAT space: private to the carrier.
var sharedV4 = netip.MustParsePrefix("100.64.0.0/10")

// public reports whether a is an address of the public internet: not
// loopback, private (RFC 1918, RFC 6598, IPv6 unique local), link-local,
// multicast or unspecified.
func public(a netip.Addr) bool {
	return usable(a) && !a.IsLoopback() && !a.IsPrivate() && !sharedV4.Contains(a) && !a.IsInterfaceLocalMulticast()
}

// usable reports whether a peer at a could be connected to by others.
func usable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLinkLocalUnicast()
}
