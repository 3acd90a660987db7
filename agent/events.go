package agent

// Event is what Get and Seed report as they go, to GetOptions.Events and
// SeedOptions.Events: Resent, Started, Progress and Downloaded from Get;
// Seeding, Listening and SeedReport from Seed.
type Event interface{ event() }

// Resent: receipts an earlier Get left unacknowledged were acknowledged now.
type Resent struct{ Receipts int }

// Started: the dataset's torrent is known and the download begins.
type Started struct {
	InfoHash   string
	Name       string
	TotalBytes int64
	Pieces     int
	Dir        string // the output directory
}

// Progress is one progress report of a download. Its JSON form is what
// `pbts get --json` prints under "progress".
type Progress struct {
	Pieces           int     `json:"pieces"` // verified
	TotalPieces      int     `json:"total_pieces"`
	Bytes            int64   `json:"bytes"`
	TotalBytes       int64   `json:"total_bytes"`
	BytesPerSecond   float64 `json:"bytes_per_second"` // since the previous report
	Peers            int     `json:"peers"`
	ReceiptsAccepted int     `json:"receipts_accepted"`
}

// Downloaded: the download is done and verified (and, with GetOptions.Seed,
// seeding goes on until ctx ends).
type Downloaded struct{ *Download }

// Seeding: a dataset is verified on disk and announced. Its JSON form is
// what `pbts seed --json` prints per dataset.
type Seeding struct {
	InfoHash      string `json:"info_hash"`
	Name          string `json:"name"`
	Source        string `json:"source"` // "published" or "downloaded"
	Path          string `json:"path"`
	Pieces        int    `json:"pieces"`
	Complete      bool   `json:"complete"`
	VerifiedBytes int64  `json:"-"` // on disk and verified, when not Complete
	TotalBytes    int64  `json:"-"`
}

// Listening: every dataset is being served, on these addresses.
type Listening struct{ Addrs []string }

// SeedReport is one progress report of a seeder. Its JSON form is what
// `pbts seed --json` prints under "seeding".
type SeedReport struct {
	UploadedBytes  int64   `json:"uploaded_bytes"`
	BytesPerSecond float64 `json:"bytes_per_second"` // since the previous report
	Peers          int     `json:"peers"`
	HandedReceipts int     `json:"handed_receipts"`
	// HandedTotal counts every distinct receipt handed over and credited,
	// re-downloads' too (HandedReceipts counts each piece once).
	HandedTotal int `json:"handed_total"`
	Stalls      int `json:"stalls"`
}

func (Resent) event()     {}
func (Started) event()    {}
func (Progress) event()   {}
func (Downloaded) event() {}
func (Seeding) event()    {}
func (Listening) event()  {}
func (SeedReport) event() {}
