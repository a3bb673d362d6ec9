package simulator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
	"github.com/ftpsgw/ftpsgw/simulator/internal/names"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// Benchmarks of the hot paths (go test -bench . ./simulator); numbers in docs/BENCHMARKS.md.

func benchFolders() *folders {
	c := &core{rules: SKAT()}
	g := &Gateway{core: c, replica: &securityReplica{core: c, roles: &roleView{roles: map[string][]string{
		"CVR_19552101_RID_60134540": {"FTPSGW.Heartbeat", "eKapital.Rente.Udlaan", "eKapital.Rente.Pantebreve", "Told.Import"}}}}}
	return &folders{gw: g, s: &session{ctx: context.Background()}, username: "CVR_19552101_RID_60134540", cvr: "19552101"}
}

func BenchmarkResolvePath(b *testing.B) {
	f := benchFolders()
	paths := []string{"/", "/out", "/out/status_FTPSGW.Heartbeat_a.txt_1.xml", "/FTPSGW.Heartbeat/ping_1.txt",
		"/Told.Import/x.txt", "/other.Service/x.txt", "/../etc/passwd", "/FTPSGW.Heartbeat/%2e%2e"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.resolve(paths[i%len(paths)])
	}
}

func BenchmarkListRootFolders(b *testing.B) {
	f := benchFolders()
	f.gw.clock = RealClock{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.ReadDir("/"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFileName(b *testing.B) {
	list := []string{"ping_20261126_1.txt", "val_eKapital_2026.xml", "bad name with spaces.txt", "a.b.c.d.e.f.txt"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = names.Parse(list[i%len(list)])
	}
}

// BenchmarkReserveAndRelease is the name registry's check-and-reserve on a real SQLite file
// (synchronous=FULL, as the simulator runs): one transaction with fsync each way.
func BenchmarkReserveAndRelease(b *testing.B) {
	st, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("file_%d.txt", i)
		if err := st.Reserve(ctx, "19552101", name, "u", "s", now); err != nil {
			b.Fatal(err)
		}
		if err := st.Release(ctx, "19552101", name, "s"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderReceipt(b *testing.B) {
	d := store.Delivery{Submission: Submission{ID: 1, Username: "CVR_19552101_RID_60134540", Service: "FTPSGW.Heartbeat", Name: "ping_20261126_1.txt"}, SkatID: "0123456789abcdef0123456789abcdef"}
	at := time.Now()
	rerr := &ReceiptError{Code: "RECORD_LENGTH_INCORRECT", Message: "Record 3 is 12 characters long.", Resolution: "Correct the file."}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			receipt.Render(d, receipt.CodeAccepted, at, "", nil, "", SKAT().Receipts.TransactionIDElement)
		} else {
			receipt.Render(d, receipt.CodeError, at, "", rerr, "", SKAT().Receipts.TransactionIDElement)
		}
	}
}

func BenchmarkJournalAppend(b *testing.B) {
	j := journal.New(200_000, RealClock{})
	e := Event{Username: "CVR_19552101_RID_60134540", Type: EventCommand, Line: "STOR ping_1.txt", Session: "s1"}
	b.ReportAllocs()
	for b.Loop() {
		j.Append(e)
	}
}

func BenchmarkJournalAppendParallel(b *testing.B) {
	j := journal.New(200_000, RealClock{})
	e := Event{Username: "CVR_19552101_RID_60134540", Type: EventCommand, Line: "STOR ping_1.txt", Session: "s1"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j.Append(e)
		}
	})
}

// BenchmarkDiskCreateFile is what creating one new file costs on the disk that holds the
// temporary folder (the data folder's, in the measurements of docs/BENCHMARKS.md): on some
// virtual disks this, not the FTP work, dominates a small upload.
func BenchmarkDiskCreateFile(b *testing.B) {
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkDiskWriteFsync256MiB writes and fsyncs 256 MiB in chunk-sized writes, as an upload does.
func BenchmarkDiskWriteFsync256MiB(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, chunkSize)
	b.SetBytes(256 << 20)
	for i := 0; b.Loop(); i++ {
		f, err := os.Create(filepath.Join(dir, "f"))
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < 256<<20; n += len(buf) {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		f.Sync()
		f.Close()
		os.Remove(f.Name())
	}
}
