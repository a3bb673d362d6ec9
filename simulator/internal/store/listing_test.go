package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The in-memory listing of /out is always what the database query answers, through every
// kind of write: new receipts, a reused name's newer receipt, DELE, retention, a reset.
func TestListingCacheMatchesDatabase(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	users := []string{"CVR_1_RID_1", "CVR_2_RID_2"}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_800_000_000, 0)
	now := base
	sub := int64(0)
	check := func(step int, what string) {
		t.Helper()
		for _, u := range users {
			cached, err := s.LiveOutbox(ctx, u) // from memory once filled
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.liveOutbox(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(cached, want, func(a, b OutboxFile) bool {
				return a.ID == b.ID && a.Name == b.Name && a.Size == b.Size && a.CreatedAt.Equal(b.CreatedAt)
			}) {
				t.Fatalf("step %d (%s), %s: the listing in memory (%d entries) differs from the database's (%d)", step, what, u, len(cached), len(want))
			}
		}
	}
	for step := range 400 {
		u := users[rng.IntN(len(users))]
		what := ""
		switch op := rng.IntN(10); {
		case op < 6: // an upload with its receipts (names repeat: a reused name's newer row)
			sub++
			name := fmt.Sprintf("f%d.txt", rng.IntN(60))
			res, err := s.db.ExecContext(ctx, `INSERT INTO submissions (username, cvr, service, name, size, sha256, ascii, validation, reused, session, spool_path, received_at)
				VALUES (?, '1', 'S', ?, 1, '', 0, 0, 0, 's', '', ?)`, u, name, now.UnixNano())
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			if _, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (submission_id, state, next_at, attempts, skat_id, updated_at) VALUES (?, 'queued', 0, 0, '', 0)`, id); err != nil {
				t.Fatal(err)
			}
			files := []OutboxFile{{SubmissionID: id, Username: u, Kind: KindReceipt, Code: 1, Name: "status_" + name + "_1.xml", Content: make([]byte, rng.IntN(500)), CreatedAt: now}}
			if rng.IntN(2) == 0 {
				files = append(files, OutboxFile{SubmissionID: id, Username: u, Kind: KindReceipt, Code: 0, Name: "status_" + name + "_0.xml", Content: []byte("x"), CreatedAt: now})
			}
			if err := s.Apply(ctx, []Move{{SubmissionID: id, From: StateQueued, To: StateDone, NextAt: now, Files: files}}); err != nil {
				t.Fatal(err)
			}
			// the same step again adds nothing (ON CONFLICT DO NOTHING): the cache must not either
			_ = s.Apply(ctx, []Move{{SubmissionID: id, Postpone: true, NextAt: now, Files: files}})
			what = "receipts"
		case op < 8: // DELE
			what = "dele"
			if err := s.DeleteOutboxName(ctx, fmt.Sprintf("status_f%d.txt_1.xml", rng.IntN(60)), now, u); err != nil {
				t.Fatal(err)
			}
		case op < 9: // retention
			what = "expiry"
			if _, err := s.ExpireOutbox(ctx, now.Add(-time.Duration(rng.IntN(100))*time.Minute), now); err != nil {
				t.Fatal(err)
			}
		default:
			if rng.IntN(20) == 0 {
				what = "reset"
				if err := s.ResetAll(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				what = "mark deleted"
				_ = s.MarkDeleted(ctx, int64(rng.IntN(int(sub)+1)), now)
			}
		}
		now = now.Add(time.Minute)
		check(step, what)
	}
}
