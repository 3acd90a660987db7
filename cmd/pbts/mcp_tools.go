package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/receipt"
)

// mcpVersion is the version the MCP server reports.
const mcpVersion = "0.1.0"

const mcpInstructions = `PBTS is a private BitTorrent tracker for AI training datasets (video and audio) where reputation is kept on Ethereum. ` +
	`Downloading is allowed only while uploaded/(downloaded+size) stays at or above the tracker's minimum ratio, so seed what you have to earn credit. ` +
	`Typical flow: register (once), search_datasets, dataset_info, my_standing, download_dataset; publish_dataset shares a local file or directory; ` +
	`start_seeding and seed_status serve what this agent has. The agent's key never leaves the server's keystore.`

// newServer builds the MCP server with every tool.
func (s *mcpServer) newServer() *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{Name: "pbts", Title: "PBTS agent", Version: mcpVersion},
		&mcp.ServerOptions{Instructions: mcpInstructions})
	mcp.AddTool(server, &mcp.Tool{Name: "search_datasets", Description: "Search the tracker's catalog of datasets. " +
		"All filters are optional and combine (AND). Returns each dataset's info_hash (use it with dataset_info and download_dataset), name, size in bytes, modality, tags and current seeders. " +
		"A dataset with 0 seeders cannot be downloaded right now."}, s.searchDatasets)
	mcp.AddTool(server, &mcp.Tool{Name: "dataset_info", Description: "Details of one dataset of the catalog by info hash: name, description, modality, tags, license, publisher, size, pieces, swarm counts, " +
		"and whether this agent's standing lets it download it now (and if not, how many bytes it must upload first)."}, s.datasetInfo)
	mcp.AddTool(server, &mcp.Tool{Name: "my_standing", Description: "This agent's reputation at the tracker: settled (on chain) and pending upload/download bytes, ratio, the tracker's minimum ratio, " +
		"whether it may download and the tracker's reason if not, the most it may download now, and how many bytes to upload (seed) to download more."}, s.myStanding)
	mcp.AddTool(server, &mcp.Tool{Name: "download_dataset", Description: "Download a dataset by info hash (or exact name) into a local directory, verifying every piece against its published SHA-256 " +
		"and paying seeders with signed receipts. Reports progress notifications when the request carries a progress token. Returns the local path, the files with their SHA-256, " +
		"the bytes and the verification result. Refused when this agent's ratio is too low: the error says how many bytes to upload (seed) first. " +
		"Afterwards the dataset is seeded in the background unless no_seed is set."}, s.downloadDataset)
	mcp.AddTool(server, &mcp.Tool{Name: "publish_dataset", Description: "Publish a local file or directory to the catalog (signed by this agent's key) and seed it in the background unless no_seed is set. " +
		"Returns the dataset's info hash. Publishing and seeding earn upload credit when others download it."}, s.publishDataset)
	mcp.AddTool(server, &mcp.Tool{Name: "seed_status", Description: "What this agent can seed (datasets it published or downloaded for this tracker) and what the background seeder is serving now: " +
		"listening addresses, bytes uploaded, peers, receipts handed over."}, s.seedStatus)
	mcp.AddTool(server, &mcp.Tool{Name: "start_seeding", Description: "Start (or restart) the background seeder over everything this agent can seed; it runs until the MCP server stops. " +
		"Seeding is how an agent earns upload credit to regain download access."}, s.startSeeding)
	mcp.AddTool(server, &mcp.Tool{Name: "register", Description: "Register this agent (its keystore key) with the tracker, once, before downloading, seeding or publishing. Harmless when already registered."}, s.register)
	mcp.AddTool(server, &mcp.Tool{Name: "audit", Description: "Audit the chain: re-derive every settled batch of the ReputationTracker contract from the receipts and compare it and every agent's figures with the chain. " +
		"Needs the Ethereum RPC URL in the server's configuration (PBTS_RPC_URL or --rpc-url). Returns ok and the problems found."}, s.audit)
	return server
}

// ---- search_datasets ----

type searchIn struct {
	Text      string   `json:"text,omitempty" jsonschema:"words to match in the name and description (optional)"`
	Modality  string   `json:"modality,omitempty" jsonschema:"video or audio (optional)"`
	Tags      []string `json:"tags,omitempty" jsonschema:"tags that must all match (optional)"`
	Publisher string   `json:"publisher,omitempty" jsonschema:"only datasets published by this agent address, 0x + 40 hex (optional)"`
	Limit     int      `json:"limit,omitempty" jsonschema:"at most this many results (default 50)"`
}

type mcpDataset struct {
	InfoHash    string   `json:"info_hash"`
	Name        string   `json:"name"`
	SizeBytes   uint64   `json:"size_bytes"`
	Size        string   `json:"size"`
	Modality    string   `json:"modality"`
	Tags        []string `json:"tags"`
	Seeders     uint32   `json:"seeders"`
	Leechers    uint32   `json:"leechers"`
	Description string   `json:"description,omitempty"`
}

type searchOut struct {
	Datasets []mcpDataset `json:"datasets"`
	Count    int          `json:"count"`
}

func (s *mcpServer) searchDatasets(ctx context.Context, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, searchOut, error) {
	if _, _, err := agent.ParseModality(in.Modality); err != nil {
		return nil, searchOut{}, fmt.Errorf("invalid_argument: modality %q: want video, audio or nothing", in.Modality)
	}
	if in.Limit < 0 {
		return nil, searchOut{}, errors.New("invalid_argument: limit must be positive")
	}
	found, err := s.ag.Search(ctx, agent.SearchQuery{Text: in.Text, Modality: in.Modality, Tags: in.Tags, Publisher: in.Publisher, Limit: in.Limit})
	if err != nil {
		return nil, searchOut{}, s.toolError("", err)
	}
	out := searchOut{Datasets: []mcpDataset{}}
	for _, d := range found {
		out.Datasets = append(out.Datasets, mcpDataset{InfoHash: d.InfoHash, Name: d.Name, SizeBytes: d.TotalBytes, Size: humanBytes(d.TotalBytes),
			Modality: d.Modality, Tags: d.Tags, Seeders: d.Seeders, Leechers: d.Leechers, Description: d.Description})
	}
	out.Count = len(out.Datasets)
	return nil, out, nil
}

// ---- dataset_info ----

type infoHashIn struct {
	InfoHash string `json:"info_hash" jsonschema:"the dataset's info hash, 0x + 40 hex digits, as search_datasets returns it"`
}

type datasetInfoOut struct {
	datasetOutput
	Size string `json:"size"`
	// This agent's access to it.
	CanDownload       *bool  `json:"can_download,omitempty"`
	UploadNeededBytes uint64 `json:"upload_needed_bytes"`
	Access            string `json:"access,omitempty"`
}

func (s *mcpServer) datasetInfo(ctx context.Context, _ *mcp.CallToolRequest, in infoHashIn) (*mcp.CallToolResult, datasetInfoOut, error) {
	d, err := s.lookup(ctx, in.InfoHash)
	if err != nil {
		return nil, datasetInfoOut{}, err
	}
	out := datasetInfoOut{datasetOutput: datasetOut(d), Size: humanBytes(d.TotalBytes)}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if sd, num, den, err := s.standing(ctx); err == nil {
		up, down := sd.SettledUploadBytes+sd.PendingUploadBytes, sd.SettledDownloadBytes+sd.PendingDownloadBytes
		need := uploadNeeded(up, down, d.TotalBytes, num, den)
		ok := need == 0
		out.CanDownload, out.UploadNeededBytes = &ok, need
		if ok {
			out.Access = "this agent's ratio allows downloading it"
		} else {
			out.Access = fmt.Sprintf("this agent must upload %d more bytes (%s) before downloading it: seed what it has (start_seeding) or publish datasets others download", need, humanBytes(need))
		}
	} else {
		out.Access = "unknown for this agent: " + err.Error()
	}
	return nil, out, nil
}

// lookup finds a dataset by info hash (or exact name) in the catalog.
func (s *mcpServer) lookup(ctx context.Context, target string) (*agent.Dataset, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return nil, errors.New("invalid_argument: info_hash is required")
	}
	hex := strings.TrimPrefix(strings.ToLower(target), "0x")
	if len(hex) == 40 {
		cctx, cancel := context.WithTimeout(ctx, s.o.timeout)
		defer cancel()
		resp, err := s.catalog.GetDataset(cctx, &pbtsGetDataset{InfoHash: "0x" + hex})
		if err != nil {
			if status.Code(err) == codes.NotFound {
				return nil, fmt.Errorf("not_found: no dataset %s at %s (try search_datasets)", target, s.o.tracker)
			}
			return nil, s.toolError("", err)
		}
		d := datasetFromProto(resp.GetDataset())
		return &d, nil
	}
	found, err := s.ag.Search(ctx, agent.SearchQuery{Text: target, Limit: 100})
	if err != nil {
		return nil, s.toolError("", err)
	}
	var hits []agent.Dataset
	for _, d := range found {
		if d.Name == target {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 1:
		return &hits[0], nil
	case 0:
		return nil, fmt.Errorf("not_found: no dataset named %q (give the info hash from search_datasets)", target)
	}
	var ihs []string
	for _, d := range hits {
		ihs = append(ihs, d.InfoHash)
	}
	return nil, fmt.Errorf("ambiguous: %d datasets are named %q: give the info hash (%s)", len(hits), target, strings.Join(ihs, ", "))
}

// ---- my_standing ----

type noIn struct{}

type standingOut struct {
	Address              string  `json:"address"`
	Tracker              string  `json:"tracker"`
	SettledUploadBytes   uint64  `json:"settled_upload_bytes"`
	SettledDownloadBytes uint64  `json:"settled_download_bytes"`
	PendingUploadBytes   uint64  `json:"pending_upload_bytes"`
	PendingDownloadBytes uint64  `json:"pending_download_bytes"`
	UploadedBytes        uint64  `json:"uploaded_bytes"`   // settled + pending
	DownloadedBytes      uint64  `json:"downloaded_bytes"` // settled + pending
	Ratio                float64 `json:"ratio"`
	RatioInfinite        bool    `json:"ratio_infinite"`
	MinRatio             float64 `json:"min_ratio"`
	CanDownload          bool    `json:"can_download"`
	Refusal              string  `json:"refusal,omitempty"`
	DownloadAllowance    uint64  `json:"download_allowance_bytes"`
	UploadNeeded1GiB     uint64  `json:"upload_needed_for_1gib_bytes"`
	Advice               string  `json:"advice"`
	PublishedCount       uint32  `json:"published_count"`
	ChainRegistration    string  `json:"chain_registration,omitempty"`
}

// standing is this agent's standing and the tracker's minimum ratio.
func (s *mcpServer) standing(ctx context.Context) (*agent.Standing, uint64, uint64, error) {
	addr, err := s.address()
	if err != nil {
		return nil, 0, 0, err
	}
	sd, err := s.ag.Status(ctx, addr)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, 0, 0, fmt.Errorf("unregistered: %s is not registered at %s: call the register tool first", addr.Hex(), s.o.tracker)
		}
		return nil, 0, 0, s.toolError("", err)
	}
	num, den, _, err := s.minRatio(ctx)
	if err != nil {
		return nil, 0, 0, s.toolError("", err)
	}
	return sd, num, den, nil
}

// address is this agent's address (from the keystore, no password needed).
func (s *mcpServer) address() (common.Address, error) {
	if a := s.ag.Address(); a != (common.Address{}) {
		return a, nil
	}
	addr, err := s.o.keyAddress()
	if err != nil {
		var ce *cliError
		if errors.As(err, &ce) {
			return addr, fmt.Errorf("%s: %s", ce.kind, ce.msg)
		}
		return addr, err
	}
	return addr, nil
}

func (s *mcpServer) myStanding(ctx context.Context, _ *mcp.CallToolRequest, _ noIn) (*mcp.CallToolResult, standingOut, error) {
	sd, num, den, err := s.standing(ctx)
	if err != nil {
		return nil, standingOut{}, err
	}
	up, down := sd.SettledUploadBytes+sd.PendingUploadBytes, sd.SettledDownloadBytes+sd.PendingDownloadBytes
	out := standingOut{
		Address: sd.Address.Hex(), Tracker: s.o.tracker,
		SettledUploadBytes: sd.SettledUploadBytes, SettledDownloadBytes: sd.SettledDownloadBytes,
		PendingUploadBytes: sd.PendingUploadBytes, PendingDownloadBytes: sd.PendingDownloadBytes,
		UploadedBytes: up, DownloadedBytes: down, Ratio: sd.Ratio, RatioInfinite: sd.RatioInfinite,
		MinRatio: float64(num) / float64(den), CanDownload: sd.CanLeech, Refusal: sd.LeechRefusal,
		DownloadAllowance: downloadAllowance(up, down, num, den), UploadNeeded1GiB: uploadNeeded(up, down, 1<<30, num, den),
		PublishedCount: sd.PublishedCount, ChainRegistration: sd.ChainRegistration,
	}
	if sd.RatioInfinite {
		out.Ratio = 0
	}
	if out.DownloadAllowance > 0 && sd.CanLeech {
		out.Advice = fmt.Sprintf("may download datasets up to %s (%d bytes) now; seed (start_seeding) to earn more", humanBytes(out.DownloadAllowance), out.DownloadAllowance)
	} else {
		need := uploadNeeded(up, down, 1, num, den)
		out.Advice = fmt.Sprintf("downloading is refused: upload at least %d more bytes (%s) to download anything, or min_ratio*(downloaded+size)-uploaded for a dataset of a given size; seed what this agent has (start_seeding) or publish datasets others want",
			need, humanBytes(need))
	}
	return nil, out, nil
}

// ---- download_dataset ----

type downloadIn struct {
	InfoHash string `json:"info_hash" jsonschema:"the dataset's info hash (0x + 40 hex digits) or its exact name"`
	OutDir   string `json:"out_dir,omitempty" jsonschema:"local directory to write the dataset under (default: the server's download directory)"`
	NoSeed   bool   `json:"no_seed,omitempty" jsonschema:"do not seed the dataset in the background after the download"`
}

type mcpFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

type downloadOut struct {
	InfoHash         string    `json:"info_hash"`
	Name             string    `json:"name"`
	Path             string    `json:"path"`
	Files            []mcpFile `json:"files"`
	Bytes            int64     `json:"bytes"`
	Pieces           int       `json:"pieces"`
	Verified         bool      `json:"verified"`
	Verification     string    `json:"verification"`
	Seconds          float64   `json:"seconds"`
	ReceiptsSigned   int       `json:"receipts_signed"`
	ReceiptsAccepted int       `json:"receipts_accepted"`
	ReceiptsUnsent   int       `json:"receipts_unsent"`
	Seeding          bool      `json:"seeding"`
}

func (s *mcpServer) downloadDataset(ctx context.Context, req *mcp.CallToolRequest, in downloadIn) (*mcp.CallToolResult, downloadOut, error) {
	if err := s.needSigner(); err != nil {
		return nil, downloadOut{}, err
	}
	target := strings.TrimSpace(in.InfoHash)
	if target == "" {
		return nil, downloadOut{}, errors.New("invalid_argument: info_hash is required")
	}
	out := in.OutDir
	if out == "" {
		out = s.outDir
	}
	var token any
	if req != nil && req.Params != nil {
		token = req.Params.GetProgressToken()
	}
	notify := func(done, total int64, msg string) {
		if token == nil || req.Session == nil {
			return
		}
		if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(done), Total: float64(total), Message: msg}); err != nil {
			fmt.Fprintf(s.a.stderr, "pbts mcp: progress notification: %v\n", err)
		}
	}
	events := func(e agent.Event) {
		switch e := e.(type) {
		case agent.Started:
			notify(0, e.TotalBytes, fmt.Sprintf("downloading %q (%s, %d pieces)", e.Name, humanBytes(uint64(e.TotalBytes)), e.Pieces))
		case agent.Progress:
			notify(e.Bytes, e.TotalBytes, fmt.Sprintf("%d of %d pieces verified, %d peers, %s/s", e.Pieces, e.TotalPieces, e.Peers, humanBytes(uint64(e.BytesPerSecond))))
		case agent.Downloaded:
			notify(e.Bytes, e.Bytes, "downloaded and verified")
		}
	}
	sum, err := s.ag.Get(ctx, target, agent.GetOptions{Out: out, SubmitWait: 30 * time.Second, Events: events, ProgressEvery: time.Second})
	if err != nil {
		return nil, downloadOut{}, s.downloadError(ctx, target, err)
	}
	files, err := sha256Files(sum.Path)
	if err != nil {
		return nil, downloadOut{}, fmt.Errorf("downloaded %s but cannot hash it: %v", sum.Path, err)
	}
	res := downloadOut{InfoHash: sum.InfoHash, Name: sum.Name, Path: sum.Path, Files: files, Bytes: sum.Bytes, Pieces: sum.Pieces,
		Verified: sum.Verified, Seconds: sum.Seconds, ReceiptsSigned: sum.ReceiptsSigned, ReceiptsAccepted: sum.ReceiptsAccepted, ReceiptsUnsent: sum.ReceiptsUnsent}
	if sum.Verified {
		res.Verification = fmt.Sprintf("all %d pieces match the SHA-256 hashes the publisher signed; files' own SHA-256 listed under files", sum.Pieces)
	} else {
		res.Verification = "NOT verified"
	}
	if !in.NoSeed {
		if _, err := s.startSeeder(); err != nil {
			fmt.Fprintf(s.a.stderr, "pbts mcp: seeding after the download: %v\n", err)
		} else {
			res.Seeding = true
		}
	}
	return nil, res, nil
}

// downloadError explains a failed Get; a ratio refusal carries how much
// to upload to regain access.
func (s *mcpServer) downloadError(ctx context.Context, target string, err error) error {
	terr := s.toolError(target, err)
	if status.Code(err) != codes.PermissionDenied {
		return terr
	}
	d, derr := s.lookup(ctx, target)
	sd, num, den, serr := s.standing(ctx)
	if derr != nil || serr != nil {
		return terr
	}
	up, down := sd.SettledUploadBytes+sd.PendingUploadBytes, sd.SettledDownloadBytes+sd.PendingDownloadBytes
	need := uploadNeeded(up, down, d.TotalBytes, num, den)
	return fmt.Errorf("%v. To regain access to this dataset (%s): upload (seed) at least %d more bytes (%s), since min_ratio %.2f * (downloaded %d + size %d) - uploaded %d = %d; "+
		"seed what this agent has (start_seeding) or publish datasets others download (publish_dataset)",
		terr, humanBytes(d.TotalBytes), need, humanBytes(need), float64(num)/float64(den), down, d.TotalBytes, up, need)
}

// ---- publish_dataset ----

type publishIn struct {
	Path        string   `json:"path" jsonschema:"local file or directory to publish"`
	Name        string   `json:"name" jsonschema:"dataset name shown in the catalog"`
	Modality    string   `json:"modality" jsonschema:"video or audio"`
	Tags        []string `json:"tags,omitempty" jsonschema:"task tags (optional)"`
	License     string   `json:"license,omitempty" jsonschema:"license, e.g. CC-BY-4.0 (optional)"`
	Description string   `json:"description,omitempty" jsonschema:"description (optional)"`
	NoSeed      bool     `json:"no_seed,omitempty" jsonschema:"publish only; do not seed it in the background"`
}

type publishOut struct {
	InfoHash         string   `json:"info_hash"`
	Name             string   `json:"name"`
	Modality         string   `json:"modality"`
	Tags             []string `json:"tags"`
	TotalBytes       int64    `json:"total_bytes"`
	PieceCount       int      `json:"piece_count"`
	AlreadyPublished bool     `json:"already_published"`
	Seeding          bool     `json:"seeding"`
}

func (s *mcpServer) publishDataset(ctx context.Context, _ *mcp.CallToolRequest, in publishIn) (*mcp.CallToolResult, publishOut, error) {
	if err := s.needSigner(); err != nil {
		return nil, publishOut{}, err
	}
	if in.Path == "" || in.Name == "" {
		return nil, publishOut{}, errors.New("invalid_argument: path and name are required")
	}
	_, mod, err := agent.ParseModality(in.Modality)
	if err != nil || mod == "" {
		return nil, publishOut{}, fmt.Errorf("invalid_argument: modality %q: want video or audio", in.Modality)
	}
	pub, err := s.ag.Publish(ctx, agent.PublishRequest{Path: in.Path, Name: in.Name, Modality: mod, Tags: in.Tags, Description: in.Description, License: in.License})
	if err != nil {
		if st, ok := status.FromError(err); ok && st.Code() == codes.FailedPrecondition && strings.Contains(st.Message(), "not registered") {
			return nil, publishOut{}, fmt.Errorf("unregistered: %s is not registered at %s: call the register tool first", s.ag.Address().Hex(), s.o.tracker)
		}
		return nil, publishOut{}, s.toolError("", err)
	}
	out := publishOut{InfoHash: pub.InfoHash, Name: pub.Name, Modality: pub.Modality, Tags: pub.Tags, TotalBytes: pub.TotalBytes,
		PieceCount: pub.PieceCount, AlreadyPublished: pub.AlreadyPublished}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if !in.NoSeed {
		if _, err := s.startSeeder(); err != nil {
			fmt.Fprintf(s.a.stderr, "pbts mcp: seeding after publishing: %v\n", err)
		} else {
			out.Seeding = true
		}
	}
	return nil, out, nil
}

// ---- seed_status, start_seeding ----

type seedableOut struct {
	InfoHash string `json:"info_hash"`
	Source   string `json:"source"` // published or downloaded
	Path     string `json:"path"`
}

type servingOut struct {
	InfoHash string `json:"info_hash"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	Complete bool   `json:"complete"`
}

type seedStatusOut struct {
	Seedable       []seedableOut `json:"seedable"`
	Running        bool          `json:"running"`
	Serving        []servingOut  `json:"serving"`
	Listening      []string      `json:"listening"`
	UploadedBytes  int64         `json:"uploaded_bytes"`
	Peers          int           `json:"peers"`
	HandedReceipts int           `json:"handed_receipts"`
	Error          string        `json:"error,omitempty"`
	Advice         string        `json:"advice,omitempty"`
}

func (s *mcpServer) seedStatus(_ context.Context, _ *mcp.CallToolRequest, _ noIn) (*mcp.CallToolResult, seedStatusOut, error) {
	items, err := agent.Seedable(s.o.home, s.o.tracker)
	if err != nil {
		return nil, seedStatusOut{}, err
	}
	out := seedStatusOut{Seedable: []seedableOut{}, Serving: []servingOut{}, Listening: []string{}}
	for _, it := range items {
		out.Seedable = append(out.Seedable, seedableOut{InfoHash: it.InfoHash, Source: it.Source, Path: it.BaseDir})
	}
	s.mu.Lock()
	if sd := s.seeder; sd != nil {
		out.Running = !sd.stopped
		for _, e := range sd.serving {
			out.Serving = append(out.Serving, servingOut{InfoHash: e.InfoHash, Name: e.Name, Path: e.Path, Complete: e.Complete})
		}
		out.Listening = append(out.Listening, sd.listening...)
		out.UploadedBytes, out.Peers, out.HandedReceipts = sd.report.UploadedBytes, sd.report.Peers, sd.report.HandedReceipts
		if sd.err != nil {
			out.Error = sd.err.Error()
		}
	}
	s.mu.Unlock()
	if !out.Running && len(out.Seedable) > 0 {
		out.Advice = "call start_seeding to serve these datasets and earn upload credit"
	}
	return nil, out, nil
}

type startSeedingOut struct {
	Datasets int    `json:"datasets"`
	Message  string `json:"message"`
}

func (s *mcpServer) startSeeding(_ context.Context, _ *mcp.CallToolRequest, _ noIn) (*mcp.CallToolResult, startSeedingOut, error) {
	if err := s.needSigner(); err != nil {
		return nil, startSeedingOut{}, err
	}
	n, err := s.startSeeder()
	if err != nil {
		return nil, startSeedingOut{}, err
	}
	return nil, startSeedingOut{Datasets: n, Message: fmt.Sprintf("seeding %d datasets in the background until the MCP server stops; seed_status shows the progress", n)}, nil
}

// ---- register ----

type registerOut struct {
	Address           string `json:"address"`
	Tracker           string `json:"tracker"`
	AlreadyRegistered bool   `json:"already_registered"`
	ChainRegistration string `json:"chain_registration,omitempty"`
}

func (s *mcpServer) register(ctx context.Context, _ *mcp.CallToolRequest, _ noIn) (*mcp.CallToolResult, registerOut, error) {
	if err := s.needSigner(); err != nil {
		return nil, registerOut{}, err
	}
	reg, err := s.ag.Register(ctx)
	if err != nil {
		return nil, registerOut{}, s.toolError("", err)
	}
	return nil, registerOut{Address: reg.State.Address, Tracker: s.o.tracker, AlreadyRegistered: reg.AlreadyRegistered, ChainRegistration: reg.ChainRegistration}, nil
}

// ---- audit ----

type auditIn struct {
	Agent string `json:"agent,omitempty" jsonschema:"audit only this agent's totals and the batches that name it, 0x + 40 hex (optional)"`
}

type auditOut struct {
	OK              bool     `json:"ok"`
	Contract        string   `json:"contract"`
	ChainID         uint64   `json:"chain_id"`
	FromBlock       uint64   `json:"from_block"`
	ToBlock         uint64   `json:"to_block"`
	BatchesSettled  int      `json:"batches_settled"`
	BatchesAudited  int      `json:"batches_audited"`
	ReceiptsChecked int      `json:"receipts_checked"`
	Agents          int      `json:"agents"`
	ProblemCount    int      `json:"problem_count"`
	Problems        []string `json:"problems"`
}

func (s *mcpServer) audit(ctx context.Context, _ *mcp.CallToolRequest, in auditIn) (*mcp.CallToolResult, auditOut, error) {
	if s.rpcURL == "" {
		return nil, auditOut{}, errors.New("no_rpc_url: the audit needs an Ethereum JSON-RPC endpoint: set PBTS_RPC_URL (or pass --rpc-url) in the MCP server's configuration")
	}
	if _, err := s.o.domain(); err != nil {
		return nil, auditOut{}, fmt.Errorf("misconfigured: %v", err)
	}
	var ao agent.AuditOptions
	ao.RPCURL = s.rpcURL
	if in.Agent != "" {
		a, err := receipt.ParseAddress(in.Agent)
		if err != nil || a == (common.Address{}) {
			return nil, auditOut{}, fmt.Errorf("invalid_argument: agent %q is not an address (0x + 40 hex)", in.Agent)
		}
		ao.Agent = a
	}
	ag := s.ag
	if s.keyErr != nil { // the audit signs nothing, but needs the domain
		d, _ := s.o.domain()
		var err error
		if ag, err = s.a.openAgent(ctx, s.o, nil, d, &seedFlags{listen: new(string), receipts: new(string), window: new(int64), upload: new(int64)}); err != nil {
			return nil, auditOut{}, err
		}
		defer ag.Close()
	}
	rep, err := ag.Audit(ctx, ao)
	if err != nil {
		return nil, auditOut{}, fmt.Errorf("audit_failed: %v", err)
	}
	out := auditOut{OK: rep.OK, Contract: rep.Contract, ChainID: rep.ChainID, FromBlock: rep.FromBlock, ToBlock: rep.ToBlock,
		BatchesSettled: rep.BatchesSettled, BatchesAudited: rep.BatchesAudited, ReceiptsChecked: rep.ReceiptsChecked,
		Agents: len(rep.Agents), ProblemCount: rep.ProblemCount, Problems: []string{}}
	for i, p := range rep.Problems {
		if i == 50 {
			out.Problems = append(out.Problems, fmt.Sprintf("… and %d more", len(rep.Problems)-50))
			break
		}
		out.Problems = append(out.Problems, p.String())
	}
	return nil, out, nil
}
