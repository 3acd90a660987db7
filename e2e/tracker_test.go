package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	gethcommon "github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/chain"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/torrentfile"
)

const (
	KiB = 1 << 10
	MiB = 1 << 20
)

func aria2c(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aria2c")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("aria2c not found and CI is set (make test installs Debian's aria2)")
		}
		t.Skip("aria2c not found: install Debian's aria2")
	}
	return p
}

// dataset writes size random bytes to dir/name and returns its torrent and piece hashes.
func dataset(t *testing.T, dir, name string, size int, seed uint64) (*metainfo.MetaInfo, [][32]byte, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mi, sums, err := torrentfile.Build(path, 256*KiB)
	if err != nil {
		t.Fatal(err)
	}
	return mi, sums, data
}

func (s *stack) publish(t *testing.T, a agent, mi *metainfo.MetaInfo, sums [][32]byte, name string, modality pbtsv1.Modality, tags []string) [20]byte {
	t.Helper()
	ih := mi.HashInfoBytes()
	concat := make([]byte, 0, 32*len(sums))
	for _, s := range sums {
		concat = append(concat, s[:]...)
	}
	mod := map[pbtsv1.Modality]string{pbtsv1.Modality_MODALITY_VIDEO: "video", pbtsv1.Modality_MODALITY_AUDIO: "audio"}[modality]
	const desc, license = "generated for the end-to-end test", "CC0-1.0"
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignPublication(s.Domain, ih, receipt.PiecesDigest(concat),
		receipt.MetadataDigest(name, desc, mod, tags, license), ts, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Datasets.PublishDataset(context.Background(), &pbtsv1.PublishDatasetRequest{
		Publisher: a.Address(), Torrent: mi.InfoBytes, PieceSha256: concat, Name: name, Description: desc,
		Modality: modality, Tags: tags, License: license, Timestamp: ts, Signature: sig.Hex(),
	})
	if err != nil {
		t.Fatalf("PublishDataset %s: %v", name, err)
	}
	return ih
}

// torrentFor fetches the agent's personalised .torrent and checks it.
func (s *stack) torrentFor(t *testing.T, a agent, ih [20]byte, dir string) string {
	t.Helper()
	body, err := s.Datasets.GetTorrent(context.Background(), &pbtsv1.GetTorrentRequest{
		InfoHash: "0x" + metainfo.Hash(ih).HexString(), Passkey: a.Passkey,
	})
	if err != nil {
		t.Fatalf("GetTorrent: %v", err)
	}
	mi, err := metainfo.Load(bytes.NewReader(body.Data))
	if err != nil {
		t.Fatalf("GetTorrent returned an unreadable torrent: %v", err)
	}
	if mi.HashInfoBytes() != ih || mi.Announce != s.Announce+"/announce/"+a.Passkey {
		t.Fatalf("torrent info hash %s announce %q; want %x and the agent's own announce URL", mi.HashInfoBytes(), mi.Announce, ih)
	}
	path := filepath.Join(dir, a.Passkey[:8]+".torrent")
	if err := os.WriteFile(path, body.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// announce sends one raw announce and returns the decoded reply.
func announce(t *testing.T, base, passkey string, ih [20]byte, left int) map[string]any {
	t.Helper()
	return announceAs(t, base, passkey, ih, "-XX0001-abcdefghijkl", left)
}

// getBencoded GETs u and decodes the bencoded reply.
func getBencoded(t *testing.T, u string) map[string]any {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v map[string]any
	if err := bencode.Unmarshal(b, &v); err != nil {
		t.Fatalf("announce reply %q is not bencoded: %v", b, err)
	}
	return v
}

func TestTrackerEndToEnd(t *testing.T) {
	aria := aria2c(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// 2 MiB of initial credit: enough to download 3 MiB (2/3 >= 0.5), not 5 MiB.
	s := newStack(t, 2*MiB)
	seeder, leecher, freeRider := s.register(t), s.register(t), s.register(t)

	tmp := t.TempDir()
	seedDir, leechDir := filepath.Join(tmp, "seed"), filepath.Join(tmp, "leech")
	os.MkdirAll(seedDir, 0o755)
	os.MkdirAll(leechDir, 0o755)
	mi, sums, data := dataset(t, seedDir, "speech.wav", 3*MiB+12345, 1)
	ih := s.publish(t, seeder, mi, sums, "e2e speech", pbtsv1.Modality_MODALITY_AUDIO, []string{"speech", "test"})
	bigMI, bigSums, _ := dataset(t, seedDir, "clip.mp4", 5*MiB, 2)
	bigIH := s.publish(t, seeder, bigMI, bigSums, "e2e clip", pbtsv1.Modality_MODALITY_VIDEO, []string{"video"})

	// Search finds the audio dataset by word, tag and modality.
	found, err := s.Datasets.SearchDatasets(ctx, &pbtsv1.SearchDatasetsRequest{Query: "speech", Modality: pbtsv1.Modality_MODALITY_AUDIO, Tags: []string{"test"}})
	if err != nil || len(found.Datasets) != 1 || found.Datasets[0].Name != "e2e speech" {
		t.Fatalf("SearchDatasets = %v, %v; want the audio dataset", found, err)
	}

	// The ratio gate, through gRPC and through the announce endpoint.
	_, err = s.Datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: metainfo.Hash(bigIH).HexString(), Passkey: freeRider.Passkey})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "insufficient ratio: uploaded 2.0 MiB, downloaded 0 B + 5.0 MiB left") {
		t.Fatalf("free-rider GetTorrent of 5 MiB with 2 MiB credit: %v; want PermissionDenied with the figures", err)
	}
	if v := announce(t, s.Announce, freeRider.Passkey, bigIH, 5*MiB); !strings.Contains(v["failure reason"].(string), "insufficient ratio") {
		t.Fatalf("free-rider leech announce: %v; want an insufficient ratio failure", v)
	}
	// Claiming to seed what it never received does not get it peers
	// either: nothing of it is receipted to the free-rider (issue 13, attack 3).
	for _, left := range []int{0, 1} {
		if v := announce(t, s.Announce, freeRider.Passkey, bigIH, left); !strings.Contains(fmt.Sprint(v["failure reason"]), "insufficient ratio") ||
			!strings.Contains(fmt.Sprint(v["failure reason"]), "5.0 MiB left") {
			t.Fatalf("free-rider announcing left=%d: %v; want refused on the 5 MiB it does not hold", left, v)
		}
	}
	// The publisher seeds its own torrent without receipts.
	if v := announce(t, s.Announce, seeder.Passkey, bigIH, 0); v["failure reason"] != nil {
		t.Fatalf("the publisher's seeding announce refused: %v", v)
	}
	if v := announce(t, s.Announce, strings.Repeat("0", 32), ih, 0); !strings.Contains(v["failure reason"].(string), "unknown passkey") {
		t.Fatalf("unknown passkey: %v", v)
	}

	// Two real aria2c clients, each with its own personalised torrent.
	run := func(name, torrent, dir string, extra ...string) *exec.Cmd {
		args := append([]string{
			// aria2 binds its own listen port from its default range (6881-6999,
			// below the ephemeral ports that the suite's port-0 listeners get).
			"--no-conf=true", "--dir=" + dir,
			"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
			"--disable-ipv6=true", "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
			"--log=" + filepath.Join(tmp, name+".log"), "--log-level=info",
		}, extra...)
		cmd := exec.CommandContext(ctx, aria, append(args, torrent)...)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
			if t.Failed() {
				log, _ := os.ReadFile(filepath.Join(tmp, name+".log"))
				t.Logf("%s output:\n%s\nlog tail:\n%s", name, out.String(), tailString(string(log), 3000))
			}
		})
		return cmd
	}
	run("seeder", s.torrentFor(t, seeder, ih, tmp), seedDir, "--check-integrity=true", "--seed-ratio=0.0", "--seed-time=60")
	waitUntil(t, ctx, "the seeder in the swarm", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: metainfo.Hash(ih).HexString()})
		return err == nil && d.Dataset.Seeders == 1
	})
	leech := run("leecher", s.torrentFor(t, leecher, ih, tmp), leechDir, "--seed-time=0")
	if err := leech.Wait(); err != nil {
		t.Fatalf("leecher: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(leechDir, "speech.wav"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("downloaded file differs (%d bytes, want %d): %v", len(got), len(data), err)
	}

	waitUntil(t, ctx, "the completed download to be counted", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: metainfo.Hash(ih).HexString()})
		return err == nil && d.Dataset.Completed == 1 && d.Dataset.Seeders >= 1
	})
	// The counts are public; the peers only for a member's signed request.
	sw, err := s.Datasets.GetSwarm(ctx, &pbtsv1.GetSwarmRequest{InfoHash: metainfo.Hash(ih).HexString()})
	if err != nil || !sw.PeersHidden || len(sw.Peers) != 0 || sw.Seeders < 1 {
		t.Fatalf("anonymous GetSwarm = %v, %v; want counts only", sw, err)
	}
	ts := uint64(time.Now().Unix())
	vsig, err := receipt.SignSwarmView(s.Domain, ih, ts, seeder.Key)
	if err != nil {
		t.Fatal(err)
	}
	sw, err = s.Datasets.GetSwarm(ctx, &pbtsv1.GetSwarmRequest{InfoHash: metainfo.Hash(ih).HexString(), Agent: seeder.Address(), Timestamp: ts, Signature: vsig.Hex()})
	if err != nil || len(sw.Peers) == 0 || sw.Peers[0].Agent != seeder.Address() || !sw.Peers[0].Seeder {
		t.Fatalf("GetSwarm = %v, %v; want the seeder's agent listed as seeder", sw, err)
	}

	// The leecher signs one receipt per verified piece for the only sender,
	// as the agent CLI does; the receipts service verifies and keeps them.
	var rs []*pbtsv1.Receipt
	now := uint64(time.Now().Unix())
	for i, sum := range sums {
		size := min(256*KiB, len(data)-i*256*KiB)
		r := receipt.Receipt{
			InfoHash: receipt.InfoHashFromV1(ih), Sender: gethcommon.HexToAddress(seeder.Address()),
			Receiver: gethcommon.HexToAddress(leecher.Address()), PieceHash: sum,
			PieceIndex: uint32(i), PieceSize: uint32(size), Timestamp: now,
		}
		sig, err := receipt.Sign(s.Domain, r, leecher.Key)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, &pbtsv1.Receipt{
			InfoHash: "0x" + hex.EncodeToString(r.InfoHash[:]), Sender: r.Sender.Hex(), Receiver: r.Receiver.Hex(),
			PieceHash: "0x" + hex.EncodeToString(sum[:]), PieceIndex: r.PieceIndex, PieceSize: r.PieceSize,
			Timestamp: now, Signature: sig.Hex(),
		})
	}
	sub, err := s.ReceiptsC.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range sub.Results {
		if r.Status != pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED {
			t.Fatalf("receipt %d: %v", i, r)
		}
	}
	// The same receipts again count nothing.
	again, err := s.ReceiptsC.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: rs[:1]})
	if err != nil || again.Results[0].Status != pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE {
		t.Fatalf("resubmitted receipt: %v, %v; want DUPLICATE", again, err)
	}

	// The chainwriter registers both agents and settles the batch; the
	// tracker's view follows the contract's events.
	total := uint64(len(data))
	waitUntil(t, ctx, "settlement on chain", func() bool {
		l, err1 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: leecher.Address()})
		u, err2 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: seeder.Address()})
		return err1 == nil && err2 == nil &&
			l.Agent.ChainRegistration == pbtsv1.ChainRegistration_CHAIN_REGISTRATION_CONFIRMED &&
			l.Agent.SettledDownloadBytes == total && l.Agent.PendingDownloadBytes == 0 &&
			u.Agent.SettledUploadBytes == 2*MiB+total && u.Agent.PendingUploadBytes == 0
	})
	rep, err := chain.ReadReputation(ctx, s.Chain.Client, s.Deploy.Tracker, gethcommon.HexToAddress(leecher.Address()))
	if err != nil || rep.Upload != 2*MiB || rep.Download != total {
		t.Fatalf("on-chain leecher figures %+v, %v; want %d up, %d down", rep, err, 2*MiB, total)
	}
	// Down 3 MiB with 2 MiB credit: 2/(3+5) < 0.5, so the big dataset stays out of reach.
	l, _ := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: leecher.Address()})
	if _, err := s.Datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: metainfo.Hash(bigIH).HexString(), Passkey: leecher.Passkey}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("leecher (figures %v) fetching 5 MiB more: %v; want PermissionDenied", l.Agent, err)
	}
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
