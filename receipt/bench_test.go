package receipt

import (
	"math/rand/v2"
	"testing"
)

// Run with -cpu 1 for per-core figures (bench.sh does). The custom metrics
// sign/s and recover/s are operations per second of one goroutine.

func BenchmarkDigest(b *testing.B) {
	_, vs := loadShared(b)
	v := vs[0]
	b.ReportAllocs()
	for b.Loop() {
		v.r.Timestamp++
		Digest(v.domain, v.r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "digest/s")
}

func BenchmarkSign(b *testing.B) {
	_, vs := loadShared(b)
	v := vs[0]
	b.ReportAllocs()
	for b.Loop() {
		v.r.Timestamp++
		if _, err := Sign(v.domain, v.r, v.key); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sign/s")
}

// BenchmarkRecover measures what the receipts service does per receipt: digest,
// EIP-191 hash, signature checks, ecrecover and the comparison with the receiver
// (Verify).
func BenchmarkRecover(b *testing.B) {
	_, vs := loadShared(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v := &vs[i%len(vs)]
		i++
		if err := Verify(v.domain, v.r, v.sig[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "recover/s")
}

func BenchmarkMerkleRoot4096(b *testing.B) {
	ds := randomDigests(rand.New(rand.NewPCG(1, 1)), 4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MerkleRoot(ds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewTree4096(b *testing.B) {
	ds := randomDigests(rand.New(rand.NewPCG(1, 1)), 4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewTree(ds); err != nil {
			b.Fatal(err)
		}
	}
}
