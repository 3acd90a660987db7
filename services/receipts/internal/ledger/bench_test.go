package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// postgresTicks is the CPU time (clock ticks) of every postgres process.
func postgresTicks() uint64 {
	var total uint64
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < 0 || st[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(st[end+1:])
		ut, _ := strconv.ParseUint(f[11], 10, 64)
		stt, _ := strconv.ParseUint(f[12], 10, 64)
		total += ut + stt
	}
	return total
}

// BenchmarkCommit measures the ledger alone (no signatures): b.N batches of
// 2048 new receipts, committed by 4 goroutines through a store admitting 1
// or 4 writers at once. It reports receipts/s and the CPU time Postgres (all
// its processes) spends per receipt.
func BenchmarkCommit(b *testing.B) {
	for _, writers := range []int{1, 4} {
		b.Run("writers"+strconv.Itoa(writers), func(b *testing.B) { benchCommit(b, writers) })
	}
}

func benchCommit(b *testing.B, writers int) {
	const batch, conc = 2048, 4
	db := dbtest.New(b)
	st := ledger.New(db.Pool, ledger.Options{Writers: writers})
	ctx := context.Background()
	var seq atomic.Uint64
	mk := func() []ledger.Item {
		items := make([]ledger.Item, batch)
		base := seq.Add(batch)
		for i := range items {
			n := base + uint64(i)
			var ih [32]byte
			binary.BigEndian.PutUint32(ih[:], uint32(n%4))
			rc := common.Address{byte(n % 16)}
			sd := common.Address{byte(n%16 + 16)}
			items[i] = ledger.Item{
				Receipt: receipt.Receipt{InfoHash: ih, Receiver: rc, Sender: sd, PieceHash: sha256.Sum256([]byte{byte(n)}),
					PieceIndex: uint32(n / 16), PieceSize: 262144, Timestamp: 1},
				Parsed:   true,
				Digest:   sha256.Sum256(binary.BigEndian.AppendUint64(nil, n)),
				PieceLen: 262144,
			}
		}
		return items
	}
	work := make([][]ledger.Item, b.N)
	for i := range work {
		work[i] = mk()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	before := postgresTicks()
	b.ResetTimer()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(work) {
					return
				}
				if _, err := st.Commit(ctx, work[i], time.Now()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	n := float64(b.N * batch)
	b.ReportMetric(n/b.Elapsed().Seconds(), "receipts/s")
	b.ReportMetric(float64(postgresTicks()-before)*1e4/n, "pg-us/receipt")
	for i := range work {
		for j := range work[i] {
			if work[i][j].Status != 1 {
				b.Fatalf("batch %d receipt %d: %v %s", i, j, work[i][j].Status, work[i][j].Detail)
			}
		}
	}
}

// BenchmarkStatements breaks BenchmarkCommit down: the receipts insert alone,
// then with the piece credits, one transaction per batch.
func BenchmarkStatements(b *testing.B) {
	for _, tc := range []struct {
		name   string
		credit bool
		conc   int
	}{{"insert/conc1", false, 1}, {"insert/conc2", false, 2}, {"insert/conc4", false, 4}, {"insert+credit/conc1", true, 1}, {"insert+credit/conc4", true, 4}} {
		b.Run(tc.name, func(b *testing.B) {
			const batch = 2048
			db := dbtest.New(b)
			ctx := context.Background()
			type arrays struct {
				d, ih, rc, sd, ph, sg, pieces [][]byte
				pi, ps, ts, lens              []int64
			}
			work := make([]arrays, b.N)
			for w := range work {
				a := &work[w]
				for i := range batch {
					n := uint64(w*batch + i)
					var ih [32]byte
					binary.BigEndian.PutUint32(ih[:], uint32(n%4))
					r := receipt.Receipt{InfoHash: ih, Receiver: common.Address{byte(n % 16)}, Sender: common.Address{byte(n%16 + 16)},
						PieceIndex: uint32(n / 16)}
					d := sha256.Sum256(binary.BigEndian.AppendUint64(nil, n))
					k := r.Key()
					a.d, a.ih, a.rc, a.sd = append(a.d, d[:]), append(a.ih, ih[:]), append(a.rc, r.Receiver[:]), append(a.sd, r.Sender[:])
					a.ph, a.sg, a.pieces = append(a.ph, d[:]), append(a.sg, make([]byte, 65)), append(a.pieces, k[:56])
					a.pi, a.ps, a.ts, a.lens = append(a.pi, int64(r.PieceIndex)), append(a.ps, 262144), append(a.ts, 1), append(a.lens, 262144)
				}
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			before := postgresTicks()
			b.ResetTimer()
			for range tc.conc {
				wg.Go(func() {
					for {
						i := int(next.Add(1) - 1)
						if i >= len(work) {
							return
						}
						a := &work[i]
						tx, err := db.Pool.Begin(ctx)
						if err != nil {
							b.Error(err)
							return
						}
						if _, err := tx.Exec(ctx, ledger.InsertReceiptsSQL, a.d, a.ih, a.rc, a.pi, a.sd, a.ph, a.ps, a.ts, a.sg, time.Now()); err != nil {
							b.Error(err)
						}
						if tc.credit {
							if _, err := tx.Exec(ctx, ledger.InsertCreditsSQL, a.pieces, a.lens, a.ps); err != nil {
								b.Error(err)
							}
						}
						if err := tx.Commit(ctx); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			n := float64(b.N * batch)
			b.ReportMetric(n/b.Elapsed().Seconds(), "receipts/s")
			b.ReportMetric(float64(postgresTicks()-before)*1e4/n, "pg-us/receipt")
		})
	}
}
