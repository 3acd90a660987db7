package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// ---- register ----

type registerOutput struct {
	Address           string `json:"address"`
	Tracker           string `json:"tracker"`
	AlreadyRegistered bool   `json:"already_registered"`
	Passkey           string `json:"passkey,omitempty"`
	AnnounceURL       string `json:"announce_url,omitempty"`
	PasskeyStored     bool   `json:"passkey_stored"`
	StateFile         string `json:"state_file"`
	ChainRegistration string `json:"chain_registration,omitempty"`
}

func (a *app) register(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("register", &o)
	show := fs.Bool("show-passkey", false, "print the passkey and announce URL in full")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("register", pos); err != nil {
		return err
	}
	ag, err := a.openSigner(ctx, &o, nil)
	if err != nil {
		return err
	}
	defer ag.Close()
	reg, err := ag.Register(ctx)
	if err != nil {
		return rpcError(&o, err)
	}
	st := &reg.State
	out := registerOutput{
		Address: st.Address, Tracker: o.tracker, AlreadyRegistered: reg.AlreadyRegistered,
		PasskeyStored: st.Passkey != "", StateFile: reg.StateFile, ChainRegistration: reg.ChainRegistration,
	}
	if *show {
		out.Passkey, out.AnnounceURL = st.Passkey, st.AnnounceURL
	}
	if o.json {
		return writeJSON(a.stdout, out)
	}
	w := a.stdout
	if out.AlreadyRegistered {
		fmt.Fprintf(w, "%s is already registered at %s (since %s)\n", st.Address, o.tracker, st.RegisteredAt.Format(time.RFC3339))
		if st.Passkey == "" {
			fmt.Fprintf(w, "the passkey was issued at the first registration and is not stored in %s; passkey rotation is coming in a later slice\n", reg.StateFile)
		}
	} else {
		fmt.Fprintf(w, "registered %s at %s\n", st.Address, o.tracker)
	}
	if st.Passkey != "" {
		pk, url := maskSecret(st.Passkey), maskURL(st.AnnounceURL, st.Passkey)
		if *show {
			pk, url = st.Passkey, st.AnnounceURL
		}
		fmt.Fprintf(w, "passkey      %s\nannounce URL %s\n", pk, url)
	}
	if out.ChainRegistration != "" {
		fmt.Fprintf(w, "on chain     %s\n", out.ChainRegistration)
	}
	fmt.Fprintf(w, "state saved to %s\n", reg.StateFile)
	return nil
}

// ---- invite ----

type invitationOutput struct {
	Inviter string `json:"inviter"`
	Invitee string `json:"invitee"`
	Created string `json:"created_at"`
	Used    string `json:"used_at,omitempty"`
}

type inviteOutput struct {
	Invitation      *invitationOutput  `json:"invitation,omitempty"`
	InvitationsLeft *uint32            `json:"invitations_left,omitempty"`
	Invitations     []invitationOutput `json:"invitations,omitempty"`
}

func invitationOut(i *agent.Invitation) invitationOutput {
	o := invitationOutput{Inviter: i.Inviter, Invitee: i.Invitee, Created: i.CreatedAt.Format(time.RFC3339)}
	if !i.UsedAt.IsZero() {
		o.Used = i.UsedAt.Format(time.RFC3339)
	}
	return o
}

// invite signs an invitation of ADDRESS by the agent's key (or, with
// --list, lists the invitations an agent made).
func (a *app) invite(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("invite", &o)
	list := fs.Bool("list", false, "list the invitations the agent (or ADDRESS) made")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if *list {
		if len(pos) > 1 {
			return usageErrorf("pbts invite --list takes at most one ADDRESS")
		}
		who := ""
		var key *ecdsa.PrivateKey
		if len(pos) == 1 {
			who = pos[0]
		} else if key, err = o.loadKey(a.getenv); err != nil {
			return err
		}
		ag, err := a.openAgent(ctx, &o, key, receipt.Domain{}, nil)
		if err != nil {
			return err
		}
		defer ag.Close()
		invs, err := ag.Invitations(ctx, who)
		if err != nil {
			return rpcError(&o, err)
		}
		out := inviteOutput{Invitations: []invitationOutput{}}
		for i := range invs {
			out.Invitations = append(out.Invitations, invitationOut(&invs[i]))
		}
		if o.json {
			return writeJSON(a.stdout, out)
		}
		for _, i := range out.Invitations {
			state := "not used yet"
			if i.Used != "" {
				state = "registered " + i.Used
			}
			fmt.Fprintf(a.stdout, "%s  invited %s  %s\n", i.Invitee, i.Created, state)
		}
		return nil
	}
	if len(pos) != 1 {
		return usageErrorf("pbts invite needs the ADDRESS to invite")
	}
	invitee, err := receipt.ParseAddress(pos[0])
	if err != nil {
		return usageErrorf("ADDRESS %q: %v", pos[0], err)
	}
	ag, err := a.openSigner(ctx, &o, nil)
	if err != nil {
		return err
	}
	defer ag.Close()
	created, left, err := ag.Invite(ctx, invitee)
	if err != nil {
		return rpcError(&o, err)
	}
	inv := invitationOut(created)
	if o.json {
		return writeJSON(a.stdout, inviteOutput{Invitation: &inv, InvitationsLeft: &left})
	}
	fmt.Fprintf(a.stdout, "invited %s (it can now run pbts register); %d invitations left\n", inv.Invitee, left)
	return nil
}

// ---- publish ----

type publishOutput struct {
	InfoHash         string   `json:"info_hash"`
	Name             string   `json:"name"`
	Modality         string   `json:"modality"`
	Tags             []string `json:"tags"`
	TotalBytes       int64    `json:"total_bytes"`
	PieceLength      int64    `json:"piece_length"`
	PieceCount       int      `json:"piece_count"`
	TorrentFile      string   `json:"torrent_file"`
	AlreadyPublished bool     `json:"already_published"`
	Seeding          bool     `json:"seeding"`
}

func parseModality(s string) (pbtsv1.Modality, string, error) {
	m, name, err := agent.ParseModality(s)
	if err != nil {
		return 0, "", usageErrorf("--modality %q: want video or audio", s)
	}
	return m, name, nil
}

func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

func (a *app) publish(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("publish", &o)
	name := fs.String("name", "", "dataset name (required)")
	modality := fs.String("modality", "", "video or audio (required)")
	tags := fs.String("tags", "", "comma-separated task tags")
	desc := fs.String("desc", "", "description")
	license := fs.String("license", "", "license (e.g. CC-BY-4.0)")
	pieceLen := fs.Int64("piece-length", 0, "piece length in bytes (0: chosen for the size, 256 KiB to 4 MiB)")
	noSeed := fs.Bool("no-seed", false, "publish only; do not start seeding (`pbts seed` serves it later)")
	sf := addSeedFlags(fs)
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("pbts publish needs exactly one PATH (a file or a directory)")
	}
	if *name == "" {
		return usageErrorf("--name is required")
	}
	_, modName, err := parseModality(*modality)
	if err != nil {
		return err
	}
	if modName == "" {
		return usageErrorf("--modality is required: video or audio")
	}
	ag, err := a.openSigner(ctx, &o, sf)
	if err != nil {
		return err
	}
	defer ag.Close()
	pub, err := ag.Publish(ctx, agent.PublishRequest{Path: pos[0], Name: *name, Modality: modName, Tags: splitTags(*tags),
		Description: *desc, License: *license, PieceLength: *pieceLen})
	if err != nil {
		if s, ok := status.FromError(err); ok && s.Code() == codes.FailedPrecondition && strings.Contains(s.Message(), "not registered") {
			return &cliError{kind: "unregistered", msg: fmt.Sprintf("%s is not registered at %s: run `pbts register` first", ag.Address().Hex(), o.tracker), err: err}
		}
		return rpcError(&o, err)
	}
	out := publishOutput{
		InfoHash: pub.InfoHash, Name: pub.Name, Modality: pub.Modality, Tags: pub.Tags,
		TotalBytes: pub.TotalBytes, PieceLength: pub.PieceLength, PieceCount: pub.PieceCount,
		TorrentFile: pub.TorrentFile, AlreadyPublished: pub.AlreadyPublished, Seeding: !*noSeed,
	}
	if o.json {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		a.printPublished(&out, !pub.Announced)
	}
	if *noSeed {
		if !o.json {
			fmt.Fprintln(a.stdout, "not seeding yet: run `pbts seed` to serve it to the swarm")
		}
		return nil
	}
	return a.runSeeder(ctx, &o, ag, []agent.SeedItem{pub.Seed})
}

func (a *app) printPublished(out *publishOutput, noAnnounce bool) {
	w := a.stdout
	verb := "published"
	if out.AlreadyPublished {
		verb = "already published"
	}
	fmt.Fprintf(w, "%s %q\ninfo hash %s\npieces    %d × %s (%s total)\ntorrent   %s\n",
		verb, out.Name, out.InfoHash, out.PieceCount, humanBytes(uint64(out.PieceLength)), humanBytes(uint64(out.TotalBytes)), out.TorrentFile)
	if noAnnounce {
		fmt.Fprintln(w, "note: no announce URL stored (run `pbts register`); the .torrent has no tracker URL")
	}
}

// ---- search ----

type datasetOutput struct {
	InfoHash    string   `json:"info_hash"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Modality    string   `json:"modality"`
	Tags        []string `json:"tags"`
	License     string   `json:"license,omitempty"`
	Publisher   string   `json:"publisher"`
	TotalBytes  uint64   `json:"total_bytes"`
	PieceLength uint32   `json:"piece_length"`
	PieceCount  uint32   `json:"piece_count"`
	Seeders     uint32   `json:"seeders"`
	Leechers    uint32   `json:"leechers"`
	Completed   uint32   `json:"completed"`
	PublishedAt string   `json:"published_at,omitempty"`
}

func (a *app) search(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("search", &o)
	modality := fs.String("modality", "", "video or audio")
	tags := fs.String("tags", "", "comma-separated tags; every one must match")
	publisher := fs.String("publisher", "", "only datasets of this agent address")
	limit := fs.Int("limit", agent.DefaultSearchLimit, "at most this many results")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if _, _, err := parseModality(*modality); err != nil {
		return err
	}
	if *limit <= 0 {
		return usageErrorf("--limit must be positive")
	}
	ag, err := a.openAgent(ctx, &o, nil, receipt.Domain{}, nil)
	if err != nil {
		return err
	}
	defer ag.Close()
	found, err := ag.Search(ctx, agent.SearchQuery{Text: strings.Join(pos, " "), Modality: *modality, Tags: splitTags(*tags), Publisher: *publisher, Limit: *limit})
	if err != nil {
		return rpcError(&o, err)
	}
	results := make([]datasetOutput, 0, len(found))
	for i := range found {
		results = append(results, datasetOut(&found[i]))
	}
	if o.json {
		return writeJSON(a.stdout, map[string]any{"datasets": results})
	}
	if len(results) == 0 {
		fmt.Fprintln(a.stdout, "no datasets match")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INFO HASH\tNAME\tMODALITY\tSIZE\tSEED/LEECH\tTAGS")
	for _, d := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", d.InfoHash, d.Name, d.Modality, humanBytes(d.TotalBytes), d.Seeders, d.Leechers, strings.Join(d.Tags, ","))
	}
	return tw.Flush()
}

func datasetOut(d *agent.Dataset) datasetOutput {
	out := datasetOutput{
		InfoHash: d.InfoHash, Name: d.Name, Description: d.Description, Modality: d.Modality, Tags: d.Tags, License: d.License,
		Publisher: d.Publisher, TotalBytes: d.TotalBytes, PieceLength: d.PieceLength,
		PieceCount: d.PieceCount, Seeders: d.Seeders, Leechers: d.Leechers, Completed: d.Completed,
	}
	if !d.PublishedAt.IsZero() {
		out.PublishedAt = d.PublishedAt.Format(time.RFC3339)
	}
	return out
}

// ---- status ----

type statusOutput struct {
	Address              string   `json:"address"`
	Tracker              string   `json:"tracker"`
	RegisteredAt         string   `json:"registered_at,omitempty"`
	ChainRegistration    string   `json:"chain_registration,omitempty"`
	SettledUploadBytes   uint64   `json:"settled_upload_bytes"`
	SettledDownloadBytes uint64   `json:"settled_download_bytes"`
	PendingUploadBytes   uint64   `json:"pending_upload_bytes"`
	PendingDownloadBytes uint64   `json:"pending_download_bytes"`
	Ratio                *float64 `json:"ratio"` // null when infinite
	RatioInfinite        bool     `json:"ratio_infinite"`
	CanLeech             bool     `json:"can_leech"`
	LeechRefusal         string   `json:"leech_refusal,omitempty"`
	PublishedCount       uint32   `json:"published_count"`
}

func (a *app) status(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("status", &o)
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	var addr common.Address
	switch len(pos) {
	case 0:
		if addr, err = o.keyAddress(); err != nil {
			var ce *cliError
			if errors.As(err, &ce) && ce.kind == "no_key" {
				return &cliError{kind: "no_key", msg: ce.msg + ", or name an agent: pbts status 0x…"}
			}
			return err
		}
	case 1:
		if addr, err = receipt.ParseAddress(pos[0]); err != nil {
			return usageErrorf("%q is not an agent address (0x + 40 hex)", pos[0])
		}
	default:
		return usageErrorf("pbts status takes at most one ADDRESS")
	}
	ag, err := a.openAgent(ctx, &o, nil, receipt.Domain{}, nil)
	if err != nil {
		return err
	}
	defer ag.Close()
	sd, err := ag.Status(ctx, addr)
	if err != nil {
		if s, ok := status.FromError(err); ok && s.Code() == codes.NotFound {
			return &cliError{kind: "unregistered", msg: fmt.Sprintf("%s is not registered at %s (run `pbts register` with its key)", addr.Hex(), o.tracker), err: err}
		}
		return rpcError(&o, err)
	}
	out := statusOutput{
		Address: sd.Address.Hex(), Tracker: o.tracker, ChainRegistration: sd.ChainRegistration,
		SettledUploadBytes: sd.SettledUploadBytes, SettledDownloadBytes: sd.SettledDownloadBytes,
		PendingUploadBytes: sd.PendingUploadBytes, PendingDownloadBytes: sd.PendingDownloadBytes,
		RatioInfinite: sd.RatioInfinite, CanLeech: sd.CanLeech, LeechRefusal: sd.LeechRefusal,
		PublishedCount: sd.PublishedCount,
	}
	if !out.RatioInfinite {
		out.Ratio = &sd.Ratio
	}
	if !sd.RegisteredAt.IsZero() {
		out.RegisteredAt = sd.RegisteredAt.Format(time.RFC3339)
	}
	if o.json {
		return writeJSON(a.stdout, out)
	}
	w := a.stdout
	ratio := "∞"
	if out.Ratio != nil {
		ratio = fmt.Sprintf("%.3f", *out.Ratio)
	}
	fmt.Fprintf(w, "agent      %s\n", out.Address)
	if out.RegisteredAt != "" {
		fmt.Fprintf(w, "registered %s", out.RegisteredAt)
		if out.ChainRegistration != "" {
			fmt.Fprintf(w, " (on chain: %s)", out.ChainRegistration)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "settled    up %s  down %s\n", humanBytes(out.SettledUploadBytes), humanBytes(out.SettledDownloadBytes))
	fmt.Fprintf(w, "pending    up %s  down %s\n", humanBytes(out.PendingUploadBytes), humanBytes(out.PendingDownloadBytes))
	fmt.Fprintf(w, "ratio      %s\n", ratio)
	fmt.Fprintf(w, "published  %d\n", out.PublishedCount)
	if out.CanLeech {
		fmt.Fprintln(w, "leech      allowed")
	} else {
		reason := out.LeechRefusal
		if reason == "" {
			reason = "refused"
		}
		fmt.Fprintf(w, "leech      refused: %s\n", reason)
	}
	return nil
}

// humanBytes formats n in binary units with the exact count for small values.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
