package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressState is one progress report of a download.
type progressState struct {
	Pieces           int     `json:"pieces"`
	TotalPieces      int     `json:"total_pieces"`
	Bytes            int64   `json:"bytes"`
	TotalBytes       int64   `json:"total_bytes"`
	BytesPerSecond   float64 `json:"bytes_per_second"`
	Peers            int     `json:"peers"`
	ReceiptsAccepted int     `json:"receipts_accepted"`
}

// progress shows a download: a live bar on a terminal, one plain line per
// second otherwise, or one JSON object per second (under "progress") for
// programs.
type progress struct {
	w         io.Writer
	json      bool
	bar       *progressbar.ProgressBar
	lastBytes int64
	lastAt    time.Time
}

func newProgress(w io.Writer, asJSON, terminal bool, total int64) *progress {
	p := &progress{w: w, json: asJSON, lastAt: time.Now()}
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

func (p *progress) every() time.Duration {
	if p.bar != nil {
		return 200 * time.Millisecond
	}
	return time.Second
}

func (p *progress) update(s progressState) {
	now := time.Now()
	if dt := now.Sub(p.lastAt).Seconds(); dt > 0 {
		s.BytesPerSecond = float64(max(s.Bytes-p.lastBytes, 0)) / dt
	}
	p.lastBytes, p.lastAt = s.Bytes, now
	switch {
	case p.bar != nil:
		p.bar.Describe(fmt.Sprintf("pieces %d/%d  peers %d  receipts %d", s.Pieces, s.TotalPieces, s.Peers, s.ReceiptsAccepted))
		_ = p.bar.Set64(s.Bytes)
	case p.json:
		b, _ := json.Marshal(struct {
			Progress progressState `json:"progress"`
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
