package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// mcpSession runs `pbts mcp` over stdio with cli's home and environment
// and connects an MCP client to it; progress counts the progress
// notifications received.
func mcpSession(t *testing.T, ctx context.Context, cli *pbtsCLI, progress *atomic.Int64) (*mcp.ClientSession, *syncBuffer) {
	t.Helper()
	stderr := &syncBuffer{}
	cmd := exec.Command(filepath.Join(binaries(t), "pbts"), "mcp", "--listen", "127.0.0.1:0")
	cmd.Env, cmd.Stderr = cli.env, stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "pbts-e2e", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			if progress != nil {
				progress.Add(1)
			}
		},
	})
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to pbts mcp: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Cleanup(func() { cs.Close() })
	return cs, stderr
}

// callTool calls a tool; it fails the test on a protocol error and
// returns the result's text, its structured content decoded into out
// (if not nil) and whether it is a tool error.
func callTool(t *testing.T, ctx context.Context, cs *mcp.ClientSession, name string, args map[string]any, token any, out any) (string, bool) {
	t.Helper()
	params := &mcp.CallToolParams{Name: name, Arguments: args}
	if token != nil {
		params.SetProgressToken(token)
	}
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if out != nil && !res.IsError {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil || json.Unmarshal(b, out) != nil {
			t.Fatalf("%s: structured content %s: %v", name, b, err)
		}
	}
	return text.String(), res.IsError
}

func randomFile(t *testing.T, name string, size int, seed uint64) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// TestMCP drives `pbts mcp` with the SDK's client over stdio against the
// real stack: tools listed, search → download (with progress) →
// standing → publish → search, and a download the ratio gate refuses.
func TestMCP(t *testing.T) {
	const credit = 4 * MiB
	s := newStack(t, credit)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// A seeder publishes a small dataset and serves it, and publishes a big
	// one (more than twice the credit) it does not serve.
	seederCLI := newCLI(t, s)
	cliAgent(t, seederCLI)
	const size = 1*MiB + 12345
	src, data := randomFile(t, "birdsong.wav", size, 11)
	var pub struct {
		InfoHash string `json:"info_hash"`
	}
	seederCLI.json(&pub, "publish", src, "--name", "birdsong mcp", "--modality", "audio", "--tags", "birds,mcp", "--piece-length", fmt.Sprint(256*KiB), "--no-seed")
	bigSrc, _ := randomFile(t, "big.wav", 2*credit+MiB, 12)
	var big struct {
		InfoHash   string `json:"info_hash"`
		TotalBytes uint64 `json:"total_bytes"`
	}
	seederCLI.json(&big, "publish", bigSrc, "--name", "big mcp", "--modality", "audio", "--no-seed")
	seedOut := seederCLI.background("seed", "--listen", "127.0.0.1:0")
	waitUntil(t, ctx, "pbts seed to verify its data", func() bool {
		return strings.Contains(seedOut.String(), "seeding "+pub.InfoHash)
	})
	waitUntil(t, ctx, "the seeder in the swarm", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: pub.InfoHash})
		return err == nil && d.Dataset.Seeders == 1
	})

	// The LLM's agent: a registered key in its own home.
	mcpCLI := newCLI(t, s)
	addr := cliAgent(t, mcpCLI)
	var progress atomic.Int64
	cs, stderr := mcpSession(t, ctx, mcpCLI, &progress)
	defer func() {
		if t.Failed() {
			t.Logf("pbts mcp stderr:\n%s", tailString(stderr.String(), 4000))
		}
	}()

	// The tools, each with an input schema.
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.InputSchema == nil || tool.Description == "" {
			t.Errorf("tool %s: input schema %v, description %q", tool.Name, tool.InputSchema, tool.Description)
		}
		if b, _ := json.Marshal(tool.InputSchema); strings.Contains(strings.ToLower(string(b)), "password") || strings.Contains(strings.ToLower(string(b)), "private") {
			t.Errorf("tool %s takes a secret: %s", tool.Name, b)
		}
	}
	sort.Strings(names)
	for _, want := range []string{"audit", "dataset_info", "download_dataset", "my_standing", "publish_dataset", "search_datasets", "seed_status"} {
		if i := sort.SearchStrings(names, want); i == len(names) || names[i] != want {
			t.Fatalf("tool %s missing from %v", want, names)
		}
	}

	// search_datasets finds the dataset.
	type dataset struct {
		InfoHash  string   `json:"info_hash"`
		Name      string   `json:"name"`
		SizeBytes uint64   `json:"size_bytes"`
		Modality  string   `json:"modality"`
		Tags      []string `json:"tags"`
		Seeders   uint32   `json:"seeders"`
	}
	var found struct {
		Datasets []dataset `json:"datasets"`
	}
	if text, isErr := callTool(t, ctx, cs, "search_datasets", map[string]any{"text": "birdsong", "modality": "audio", "tags": []string{"mcp"}}, nil, &found); isErr {
		t.Fatalf("search_datasets: %s", text)
	}
	if len(found.Datasets) != 1 || found.Datasets[0].InfoHash != pub.InfoHash || found.Datasets[0].SizeBytes != size ||
		found.Datasets[0].Modality != "audio" || found.Datasets[0].Seeders != 1 {
		t.Fatalf("search_datasets: %+v; want %s", found, pub.InfoHash)
	}
	var info struct {
		InfoHash    string `json:"info_hash"`
		Name        string `json:"name"`
		CanDownload *bool  `json:"can_download"`
	}
	if text, isErr := callTool(t, ctx, cs, "dataset_info", map[string]any{"info_hash": pub.InfoHash}, nil, &info); isErr ||
		info.Name != "birdsong mcp" || info.CanDownload == nil || !*info.CanDownload {
		t.Fatalf("dataset_info: %+v %s", info, text)
	}

	// download_dataset with a progress token.
	type standing struct {
		Address         string  `json:"address"`
		UploadedBytes   uint64  `json:"uploaded_bytes"`
		DownloadedBytes uint64  `json:"downloaded_bytes"`
		MinRatio        float64 `json:"min_ratio"`
		CanDownload     bool    `json:"can_download"`
	}
	var before standing
	if text, isErr := callTool(t, ctx, cs, "my_standing", nil, nil, &before); isErr || before.Address != addr || before.UploadedBytes != credit {
		t.Fatalf("my_standing before: %+v %s", before, text)
	}
	outDir := t.TempDir()
	var dl struct {
		Path     string `json:"path"`
		Bytes    int64  `json:"bytes"`
		Verified bool   `json:"verified"`
		Files    []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	text, isErr := callTool(t, ctx, cs, "download_dataset", map[string]any{"info_hash": pub.InfoHash, "out_dir": outDir}, "dl-1", &dl)
	if isErr {
		t.Fatalf("download_dataset: %s", text)
	}
	want := fmt.Sprintf("%x", sha256.Sum256(data))
	if !dl.Verified || dl.Bytes != size || len(dl.Files) != 1 || dl.Files[0].SHA256 != want {
		t.Fatalf("download_dataset: %+v; want one verified file of sha256 %s", dl, want)
	}
	got, err := os.ReadFile(filepath.Join(outDir, "birdsong.wav"))
	if err != nil || fmt.Sprintf("%x", sha256.Sum256(got)) != want {
		t.Fatalf("the downloaded file differs from the source: %v", err)
	}
	if progress.Load() == 0 {
		t.Fatal("no progress notification arrived")
	}
	t.Logf("download_dataset: %s (%d progress notifications)", text, progress.Load())

	// my_standing: downloaded went up by the dataset's size.
	var after standing
	waitUntil(t, ctx, "the download in the standing", func() bool {
		_, isErr := callTool(t, ctx, cs, "my_standing", nil, nil, &after)
		return !isErr && after.DownloadedBytes == before.DownloadedBytes+size
	})

	// publish_dataset a new file; search finds it.
	newSrc, _ := randomFile(t, "rain.wav", 300*KiB, 13)
	var published struct {
		InfoHash string `json:"info_hash"`
	}
	if text, isErr := callTool(t, ctx, cs, "publish_dataset", map[string]any{"path": newSrc, "name": "rain by mcp", "modality": "audio",
		"tags": []string{"rain", "mcp"}, "license": "CC-BY-4.0", "description": "rain on a roof"}, nil, &published); isErr || published.InfoHash == "" {
		t.Fatalf("publish_dataset: %s", text)
	}
	found.Datasets = nil
	if text, isErr := callTool(t, ctx, cs, "search_datasets", map[string]any{"text": "rain"}, nil, &found); isErr ||
		len(found.Datasets) != 1 || found.Datasets[0].InfoHash != published.InfoHash {
		t.Fatalf("search after publish_dataset: %+v %s", found, text)
	}
	var seeds struct {
		Seedable []struct {
			InfoHash string `json:"info_hash"`
		} `json:"seedable"`
	}
	if text, isErr := callTool(t, ctx, cs, "seed_status", nil, nil, &seeds); isErr || len(seeds.Seedable) != 2 {
		t.Fatalf("seed_status: %+v %s", seeds, text)
	}

	// The big dataset is refused: the error gives the tracker's reason and
	// how much to upload, min_ratio*(downloaded+size) - uploaded.
	text, isErr = callTool(t, ctx, cs, "download_dataset", map[string]any{"info_hash": big.InfoHash, "out_dir": t.TempDir()}, nil, nil)
	need := (after.DownloadedBytes+big.TotalBytes+1)/2 - after.UploadedBytes // min ratio 0.5
	if !isErr || !strings.Contains(text, "insufficient ratio") || !strings.Contains(text, fmt.Sprintf("upload (seed) at least %d more bytes", need)) {
		t.Fatalf("download of %d bytes on %d up / %d down: error %v, text %q; want the reason and %d bytes to upload", big.TotalBytes, after.UploadedBytes, after.DownloadedBytes, isErr, text, need)
	}
	t.Logf("refused: %s", text)

	// audit without an RPC URL is a tool error saying so.
	if text, isErr := callTool(t, ctx, cs, "audit", nil, nil, nil); !isErr || !strings.Contains(text, "PBTS_RPC_URL") {
		t.Fatalf("audit without an RPC URL: %v %q", isErr, text)
	}

	// The same tools over streamable HTTP (--http, port 0).
	httpOut := mcpCLI.background("mcp", "--http", "127.0.0.1:0", "--listen", "127.0.0.1:0")
	const banner = "serving MCP (streamable HTTP) at "
	var url string
	waitUntil(t, ctx, "pbts mcp --http to print its URL", func() bool {
		out := httpOut.String()
		i := strings.Index(out, banner)
		if i < 0 || !strings.Contains(out[i:], "\n") {
			return false
		}
		url = strings.TrimSpace(strings.SplitN(out[i+len(banner):], "\n", 2)[0])
		return true
	})
	hc, err := mcp.NewClient(&mcp.Implementation{Name: "pbts-e2e-http", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v\n%s", url, err, httpOut.String())
	}
	defer hc.Close()
	var overHTTP standing
	if text, isErr := callTool(t, ctx, hc, "my_standing", nil, nil, &overHTTP); isErr || overHTTP.Address != addr || overHTTP.DownloadedBytes != after.DownloadedBytes {
		t.Fatalf("my_standing over HTTP: %+v %s", overHTTP, text)
	}
}
