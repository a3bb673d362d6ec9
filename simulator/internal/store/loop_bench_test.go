package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// fillHistory adds n finished uploads, each with two live receipts in /out, as a busy
// bureau's 30 days leave them, in one transaction.
func fillHistory(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixNano()
	for i := range n {
		res, err := tx.ExecContext(ctx, `INSERT INTO submissions (username, cvr, service, name, size, sha256, ascii, validation, reused, session, spool_path, received_at)
			VALUES ('CVR_19552101_RID_60134540', '19552101', 'FTPSGW.Heartbeat', ?, 4, '', 0, 0, 0, 's', '', ?)`, fmt.Sprintf("h_%d.txt", i), now)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (submission_id, state, next_at, attempts, skat_id, updated_at) VALUES (?, 'done', ?, 0, ?, ?)`,
			id, now, fmt.Sprint(id), now); err != nil {
			b.Fatal(err)
		}
		for code := 1; code <= 2; code++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (submission_id, username, kind, code, name, content, created_at) VALUES (?, 'CVR_19552101_RID_60134540', 'receipt', ?, ?, x'00', ?)`,
				id, code, fmt.Sprintf("status_FTPSGW.Heartbeat_h_%d.txt_%d.xml", i, code), now+int64(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReceiptLoopWake is the store work of one wake of the receipt loop: the next due
// time, the due batch, the queue count, the oldest live receipt and the retention sweep, with
// 0 to 200,000 finished uploads (400,000 live receipts) kept. With the partial indexes its cost
// does not depend on what is kept (issue 18); `make bench` and docs/BENCHMARKS.md quote it.
func BenchmarkReceiptLoopWake(b *testing.B) {
	for _, n := range []int{0, 10_000, 50_000, 200_000} {
		b.Run(fmt.Sprintf("kept=%d", n), func(b *testing.B) {
			if testing.Short() && n > 10_000 {
				b.Skip("-short")
			}
			s, err := OpenStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fillHistory(b, s, n)
			ctx := context.Background()
			now := time.Now()
			b.ResetTimer()
			for range b.N {
				if _, _, err := s.NextDue(ctx); err != nil {
					b.Fatal(err)
				}
				if _, err := s.DueDeliveries(ctx, now, 256); err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.QueueStats(ctx); err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.OldestLiveOutbox(ctx); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ExpiredOutbox(ctx, now.Add(-30*24*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
