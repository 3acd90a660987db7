package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Page tokens are opaque to clients: base64url of a kind byte and the sort key
// of the last row of the previous page. Dataset tokens also carry a fingerprint
// of the query, so a token cannot be used with other filters.
const (
	tokenAgents   = 'a'
	tokenDatasets = 'd'
	tokenRanked   = 'r'
)

type agentCursor struct {
	at   time.Time
	addr common.Address
}

func encodeAgentToken(c agentCursor) string {
	b := make([]byte, 0, 1+8+20)
	b = append(b, tokenAgents)
	b = binary.BigEndian.AppendUint64(b, uint64(c.at.UnixMicro()))
	b = append(b, c.addr[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeAgentToken(s string) (agentCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 1+8+20 || b[0] != tokenAgents {
		return agentCursor{}, ErrBadPageToken
	}
	var c agentCursor
	c.at = time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9])))
	copy(c.addr[:], b[9:])
	return c, nil
}

type datasetCursor struct {
	rank float32
	at   time.Time
	ih   [20]byte
}

const datasetTokenLen = 1 + 8 + 4 + 8 + 20

func encodeDatasetToken(fp [8]byte, ranked bool, c datasetCursor) string {
	b := make([]byte, 0, datasetTokenLen)
	if ranked {
		b = append(b, tokenRanked)
	} else {
		b = append(b, tokenDatasets)
	}
	b = append(b, fp[:]...)
	b = binary.BigEndian.AppendUint32(b, math.Float32bits(c.rank))
	b = binary.BigEndian.AppendUint64(b, uint64(c.at.UnixMicro()))
	b = append(b, c.ih[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeDatasetToken(s string, fp [8]byte, ranked bool) (datasetCursor, error) {
	kind := byte(tokenDatasets)
	if ranked {
		kind = tokenRanked
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != datasetTokenLen || b[0] != kind || [8]byte(b[1:9]) != fp {
		return datasetCursor{}, ErrBadPageToken
	}
	var c datasetCursor
	c.rank = math.Float32frombits(binary.BigEndian.Uint32(b[9:13]))
	if math.IsNaN(float64(c.rank)) {
		return datasetCursor{}, ErrBadPageToken
	}
	c.at = time.UnixMicro(int64(binary.BigEndian.Uint64(b[13:21])))
	copy(c.ih[:], b[21:])
	return c, nil
}

// fingerprint identifies the filters of a search (tags as a set).
func (q Search) fingerprint() [8]byte {
	h := sha256.New()
	field := func(s string) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	field(q.Text)
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(q.Modality)))
	tags := slices.Clone(q.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(tags))))
	for _, t := range tags {
		field(t)
	}
	if q.Publisher != nil {
		h.Write([]byte{1})
		h.Write(q.Publisher[:])
	} else {
		h.Write([]byte{0})
	}
	return [8]byte(h.Sum(nil))
}
