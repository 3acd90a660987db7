package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// SearchQuery selects datasets of the catalog. Every field is optional.
type SearchQuery struct {
	Text      string   // words to match
	Modality  string   // "video" or "audio" (ParseModality); "" for any
	Tags      []string // every one must match
	Publisher string   // only the datasets of this agent address
	Limit     int      // at most this many (0: DefaultSearchLimit)
}

// DefaultSearchLimit is how many datasets Search returns when
// SearchQuery.Limit is zero.
const DefaultSearchLimit = 50

// Dataset is a dataset of the catalog with its swarm's figures.
type Dataset struct {
	InfoHash    string // 0x + 40 hex digits
	Name        string
	Description string
	Modality    string // "video", "audio" or "unspecified"
	Tags        []string
	License     string
	Publisher   string // the publishing agent's address
	TotalBytes  uint64
	PieceLength uint32
	PieceCount  uint32
	Seeders     uint32
	Leechers    uint32
	Completed   uint32
	PublishedAt time.Time // zero if the tracker did not say
}

// ParseModality reads a modality name, "video" or "audio" (any case, white
// space around it ignored; "" is unspecified), as the catalog's value and
// its canonical name.
func ParseModality(s string) (pbtsv1.Modality, string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "video":
		return pbtsv1.Modality_MODALITY_VIDEO, "video", nil
	case "audio":
		return pbtsv1.Modality_MODALITY_AUDIO, "audio", nil
	case "":
		return 0, "", nil
	}
	return 0, "", fmt.Errorf("modality %q: want video or audio", s)
}

func modalityName(m pbtsv1.Modality) string {
	switch m {
	case pbtsv1.Modality_MODALITY_VIDEO:
		return "video"
	case pbtsv1.Modality_MODALITY_AUDIO:
		return "audio"
	}
	return "unspecified"
}

// Search lists the datasets of the catalog that match q, in the tracker's
// order, paging through its answers up to q.Limit.
func (a *Agent) Search(ctx context.Context, q SearchQuery) ([]Dataset, error) {
	mod, _, err := ParseModality(q.Modality)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	req := &pbtsv1.SearchDatasetsRequest{Query: q.Text, Modality: mod, Tags: q.Tags, Publisher: q.Publisher}
	results := []Dataset{}
	for len(results) < limit {
		req.PageSize = int32(min(limit-len(results), 100))
		cctx, cancel := a.call(ctx)
		resp, err := a.datasets.SearchDatasets(cctx, req)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, d := range resp.GetDatasets() {
			results = append(results, datasetOf(d))
		}
		if resp.GetNextPageToken() == "" || len(resp.GetDatasets()) == 0 {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(results) > limit {
		results = results[:limit]
	}
	return results, nil
}

func datasetOf(d *pbtsv1.Dataset) Dataset {
	out := Dataset{
		InfoHash: d.GetInfoHash(), Name: d.GetName(), Description: d.GetDescription(),
		Modality: modalityName(d.GetModality()), Tags: d.GetTags(), License: d.GetLicense(),
		Publisher: d.GetPublisher(), TotalBytes: d.GetTotalBytes(), PieceLength: d.GetPieceLength(),
		PieceCount: d.GetPieceCount(), Seeders: d.GetSeeders(), Leechers: d.GetLeechers(), Completed: d.GetCompleted(),
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if t := d.GetPublishedAt(); t != nil {
		out.PublishedAt = t.AsTime().UTC()
	}
	return out
}
