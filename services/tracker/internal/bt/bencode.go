package bt

import (
	"bytes"
	"slices"
	"strconv"
	"time"
)

// The encoders below write bencode by hand: the answers have a fixed shape,
// and appending to a reused buffer keeps the announce path free of
// allocations. Dictionary keys are written in sorted order, as bencode
// requires.

// AppendAnnounce appends the bencoded answer r to b. noPeerID leaves peer
// ids out of a dictionary-model peer list.
func AppendAnnounce(b []byte, r *AnnounceResponse, noPeerID bool) []byte {
	b = append(b, "d8:completei"...)
	b = strconv.AppendInt(b, int64(r.Complete), 10)
	b = append(b, "e10:downloadedi"...)
	b = strconv.AppendInt(b, int64(r.Downloaded), 10)
	b = append(b, "e10:incompletei"...)
	b = strconv.AppendInt(b, int64(r.Incomplete), 10)
	b = append(b, "e8:intervali"...)
	b = strconv.AppendInt(b, seconds(r.Interval), 10)
	b = append(b, "e12:min intervali"...)
	b = strconv.AppendInt(b, seconds(r.MinInterval), 10)
	b = append(b, 'e')
	if r.Compact {
		b = append(b, "5:peers"...)
		b = appendString(b, r.IPv4)
		if len(r.IPv6) > 0 {
			b = append(b, "6:peers6"...)
			b = appendString(b, r.IPv6)
		}
		return append(b, 'e')
	}
	b = append(b, "5:peersl"...)
	for i := range r.Peers {
		p := &r.Peers[i]
		var ip [64]byte
		text := p.Addr.Addr().AppendTo(ip[:0])
		b = append(b, "d2:ip"...)
		b = appendString(b, text)
		if !noPeerID {
			b = append(b, "7:peer id20:"...)
			b = append(b, p.ID[:]...)
		}
		b = append(b, "4:porti"...)
		b = strconv.AppendUint(b, uint64(p.Addr.Port()), 10)
		b = append(b, "ee"...)
	}
	return append(b, "ee"...)
}

// AppendScrape appends the bencoded scrape answer to b. Files are sorted by
// info hash in place and duplicates written once.
func AppendScrape(b []byte, r *ScrapeResponse) []byte {
	slices.SortFunc(r.Files, func(x, y ScrapeFile) int { return bytes.Compare(x.InfoHash[:], y.InfoHash[:]) })
	b = append(b, "d5:filesd"...)
	for i := range r.Files {
		f := &r.Files[i]
		if i > 0 && r.Files[i-1].InfoHash == f.InfoHash {
			continue
		}
		b = append(b, "20:"...)
		b = append(b, f.InfoHash[:]...)
		b = append(b, "d8:completei"...)
		b = strconv.AppendInt(b, int64(f.Complete), 10)
		b = append(b, "e10:downloadedi"...)
		b = strconv.AppendInt(b, int64(f.Downloaded), 10)
		b = append(b, "e10:incompletei"...)
		b = strconv.AppendInt(b, int64(f.Incomplete), 10)
		b = append(b, "ee"...)
	}
	return append(b, "ee"...)
}

// AppendFailure appends a bencoded failure answer to b.
func AppendFailure(b []byte, reason string) []byte {
	b = append(b, "d14:failure reason"...)
	b = strconv.AppendInt(b, int64(len(reason)), 10)
	b = append(b, ':')
	b = append(b, reason...)
	return append(b, 'e')
}

func appendString(b, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }
