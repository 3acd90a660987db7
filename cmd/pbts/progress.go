package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/pbts/pbts/agent"
)

// progress shows a download: a live bar on a terminal, one plain line per
// second otherwise, or one JSON object per second (under "progress") for
// programs.
type progress struct {
	w    io.Writer
	json bool
	bar  *progressbar.ProgressBar
}

func newProgress(w io.Writer, asJSON, terminal bool, total int64) *progress {
	p := &progress{w: w, json: asJSON}
	if terminal && !asJSON {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return p
}

func (p *progress) update(s agent.Progress) {
	switch {
	case p.bar != nil:
		p.bar.Describe(fmt.Sprintf("pieces %d/%d  peers %d  receipts %d", s.Pieces, s.TotalPieces, s.Peers, s.ReceiptsAccepted))
		_ = p.bar.Set64(s.Bytes)
	case p.json:
		b, _ := json.Marshal(struct {
			Progress agent.Progress `json:"progress"`
		}{s})
		fmt.Fprintln(p.w, string(b))
	default:
		fmt.Fprintf(p.w, "progress %d/%d pieces  %s/%s  %s/s  peers %d  receipts accepted %d\n",
			s.Pieces, s.TotalPieces, humanBytes(uint64(s.Bytes)), humanBytes(uint64(s.TotalBytes)),
			humanBytes(uint64(s.BytesPerSecond)), s.Peers, s.ReceiptsAccepted)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
