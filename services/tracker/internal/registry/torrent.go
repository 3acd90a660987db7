package registry

import (
	"errors"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/pbts/pbts/torrentfile"
)

// infoBytes returns the bencoded info dictionary of b, which is either a bare
// info dictionary or a whole .torrent (a dictionary with an "info" key, whose
// raw bytes are taken verbatim so the info hash is preserved).
func infoBytes(b []byte) ([]byte, error) {
	if err := torrentfile.CheckNesting(b); err != nil {
		return nil, invalid("torrent", "%v", err)
	}
	var top struct {
		Info bencode.Bytes `bencode:"info"`
	}
	if err := bencode.Unmarshal(b, &top); err != nil {
		return nil, invalid("torrent", "not a bencoded dictionary: %v", err)
	}
	if len(top.Info) > 0 {
		return top.Info, nil
	}
	return b, nil
}

// parseTorrent checks a published info dictionary.
func parseTorrent(info []byte) (torrentfile.Layout, error) {
	_, l, err := torrentfile.ParsePrivate(info)
	switch {
	case errors.Is(err, torrentfile.ErrNotPrivate):
		return l, invalid("torrent", "torrent must be private (BEP 27 private=1)")
	case err != nil:
		return l, invalid("torrent", "%v", err)
	}
	return l, nil
}

// personalTorrent returns a .torrent whose info is exactly info and whose
// announce URL is the caller's.
func personalTorrent(info []byte, announce, name string, created int64) ([]byte, error) {
	mi := metainfo.MetaInfo{
		InfoBytes:    info,
		Announce:     announce,
		CreationDate: created,
		CreatedBy:    "PBTS tracker",
		Comment:      strings.ToValidUTF8(name, "") + " — personal torrent: its announce URL holds your passkey, do not share it",
	}
	return bencode.Marshal(mi)
}
