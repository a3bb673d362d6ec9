package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// DeliveryState is a submission's place in the receipt pipeline.
type DeliveryState string

// Delivery states, in order (a reused name goes from queued straight to done).
const (
	StateQueued    DeliveryState = "queued"    // accepted upload, waiting for the backend
	StateDelivered DeliveryState = "delivered" // handed to the backend (receipt 1)
	StateAccepted  DeliveryState = "accepted"  // accepted by the backend, a reply file to come (receipt 2)
	StateDone      DeliveryState = "done"      // nothing more will happen
)

// OutboxKind is what an outbox row is.
type OutboxKind string

// Outbox kinds.
const (
	KindReceipt OutboxKind = "receipt" // a status file
	KindReply   OutboxKind = "reply"   // a backend's reply file
)

// Delivery is a submission's place in the receipt pipeline.
type Delivery struct {
	Submission
	State    DeliveryState
	NextAt   time.Time
	Attempts int
	SkatID   string
}

// OutboxFile is a receipt or reply file for a certificate's /out. The database row is the
// truth and the only copy: a certificate's /out is a view of its live rows, so a receipt is in
// /out exactly when the transaction that made it committed.
type OutboxFile struct {
	ID           int64
	SubmissionID int64
	Username     string
	Kind         OutboxKind
	Code         int // receipt code 0..3; -1 for a reply file
	Name         string
	ErrorCode    string
	Content      []byte
	Size         int64 // length of Content; set without Content by LiveOutbox
	CreatedAt    time.Time
	DeletedAt    time.Time // zero while present
}

const deliveryColumns = `s.id, s.username, s.cvr, s.service, s.name, s.size, s.sha256, s.ascii, s.validation, s.reused, s.session, s.spool_path, s.received_at,
	d.state, d.next_at, d.attempts, d.skat_id`

func scanDelivery(rows interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var at, next int64
	err := rows.Scan(&d.ID, &d.Username, &d.CVR, &d.Service, &d.Name, &d.Size, &d.SHA256, &d.ASCII, &d.Validation, &d.Reused,
		&d.Session, &d.SpoolPath, &at, &d.State, &next, &d.Attempts, &d.SkatID)
	d.ReceivedAt = time.Unix(0, at).UTC()
	d.NextAt = time.Unix(0, next).UTC()
	return d, err
}

// DueDeliveries returns up to limit unfinished deliveries due at or before now, in order.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	return s.queryDeliveries(ctx, `d.state != 'done' AND d.next_at <= ? ORDER BY d.next_at, d.submission_id LIMIT ?`, now.UnixNano(), limit)
}

// Deliveries returns every delivery of a username ("" for all), oldest first.
func (s *Store) Deliveries(ctx context.Context, username string) ([]Delivery, error) {
	return s.queryDeliveries(ctx, `? = '' OR s.username = ? ORDER BY s.id`, username, username)
}

// RecentDeliveries returns the newest limit deliveries, newest first, and how many there are.
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]Delivery, int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
		return nil, 0, err
	}
	ds, err := s.queryDeliveries(ctx, `1 ORDER BY s.id DESC LIMIT ?`, limit)
	return ds, n, err
}

// OutboxOf returns the receipt and reply files of the given submissions (removed ones too).
func (s *Store) OutboxOf(ctx context.Context, submissions []int64) ([]OutboxFile, error) {
	if len(submissions) == 0 {
		return nil, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(submissions)), ",")
	args := make([]any, len(submissions))
	for i, id := range submissions {
		args[i] = id
	}
	return s.queryOutbox(ctx, `submission_id IN (`+marks+`)`, args...)
}

func (s *Store) queryDeliveries(ctx context.Context, where string, args ...any) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN submissions s ON s.id = d.submission_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// QueueStats returns the number of unfinished deliveries and the oldest one's receipt time.
func (s *Store) QueueStats(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT count(*), min(s.received_at) FROM deliveries d JOIN submissions s ON s.id = d.submission_id WHERE d.state != 'done'`).Scan(&n, &oldest)
	if !oldest.Valid {
		return n, time.Time{}, err
	}
	return n, time.Unix(0, oldest.Int64).UTC(), err
}

// NextDue returns the earliest due time of an unfinished delivery.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(next_at) FROM deliveries WHERE state != 'done'`).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return time.Unix(0, next.Int64).UTC(), true, nil
}

// Move is one step of the receipt pipeline for one delivery: to a new state with its outbox
// files (Postpone false), or the same state at a later due time (Postpone true).
type Move struct {
	SubmissionID int64
	From, To     DeliveryState // To is ignored when Postpone
	NextAt       time.Time
	Attempts     int
	Files        []OutboxFile
	Postpone     bool
}

// Advance moves a delivery to its next state and adds its outbox files, in one transaction.
// A file that already exists (same submission, kind and code) is not added twice.
func (s *Store) Advance(ctx context.Context, subID int64, from, to DeliveryState, nextAt time.Time, attempts int, files []OutboxFile) error {
	return s.Apply(ctx, []Move{{SubmissionID: subID, From: from, To: to, NextAt: nextAt, Attempts: attempts, Files: files}})
}

// Postpone moves a delivery's due time (the backend link is down) without changing its state.
func (s *Store) Postpone(ctx context.Context, subID int64, nextAt time.Time, attempts int) error {
	return s.Apply(ctx, []Move{{SubmissionID: subID, NextAt: nextAt, Attempts: attempts, Postpone: true}})
}

// Apply performs moves in one transaction: all of them or, on any error, none. The receipt
// loop applies a whole batch of due deliveries at once, so a burst costs one commit (one
// fsync with synchronous=FULL) per batch instead of one per receipt; each move is still whole
// (its state and its receipts together), so a crash neither loses nor doubles a receipt.
func (s *Store) Apply(ctx context.Context, moves []Move) error {
	if len(moves) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var added []listed
	for _, m := range moves {
		if m.Postpone {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_at = ?, attempts = ? WHERE submission_id = ? AND state != 'done'`,
				m.NextAt.UnixNano(), m.Attempts, m.SubmissionID); err != nil {
				return err
			}
			continue
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = ?, next_at = ?, attempts = ?, updated_at = ? WHERE submission_id = ? AND state = ?`,
			m.To, m.NextAt.UnixNano(), m.Attempts, m.NextAt.UnixNano(), m.SubmissionID, m.From)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("delivery %d changed state under us (it is no longer %s)", m.SubmissionID, m.From)
		}
		for _, f := range m.Files {
			if added, err = insertOutbox(ctx, tx, f.SubmissionID, f, added); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.listing.add(added)
	return nil
}

// appendListed notes a row an INSERT added (none when it was already there).
// insertOutbox writes one file of a submission's /out (once: a receipt already there is
// left as it is) and appends it to added, for the listing cache after the commit.
func insertOutbox(ctx context.Context, tx *sql.Tx, submissionID int64, f OutboxFile, added []listed) ([]listed, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (submission_id, username, kind, code, name, error_code, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (submission_id, kind, code) DO NOTHING`,
		submissionID, f.Username, f.Kind, f.Code, f.Name, f.ErrorCode, f.Content, f.CreatedAt.UnixNano())
	if err != nil {
		return added, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return added, nil
	}
	id, _ := res.LastInsertId()
	return append(added, listed{username: f.Username, entry: listEntry{id: id, size: int64(len(f.Content)), created: f.CreatedAt.UnixNano(), name: f.Name}}), nil
}

// Kick makes every waiting delivery due at now (the backend link came back).
func (s *Store) Kick(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET next_at = ? WHERE state != 'done' AND next_at > ?`, now.UnixNano(), now.UnixNano())
	return err
}

// ReverseWaiting makes the newest waiting delivery due first (the reverse-order-after-outage defect).
func (s *Store) ReverseWaiting(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET next_at = ? - submission_id WHERE state = 'queued'`, now.UnixNano())
	return err
}

const outboxColumns = `id, submission_id, username, kind, code, name, error_code, content, created_at, deleted_at`

func scanOutbox(rows interface{ Scan(...any) error }) (OutboxFile, error) {
	var f OutboxFile
	var created int64
	var deleted sql.NullInt64
	err := rows.Scan(&f.ID, &f.SubmissionID, &f.Username, &f.Kind, &f.Code, &f.Name, &f.ErrorCode, &f.Content, &created, &deleted)
	f.CreatedAt = time.Unix(0, created).UTC()
	if deleted.Valid {
		f.DeletedAt = time.Unix(0, deleted.Int64).UTC()
	}
	return f, err
}

func (s *Store) queryOutbox(ctx context.Context, where string, args ...any) ([]OutboxFile, error) {
	if !strings.Contains(where, "ORDER BY") {
		where += " ORDER BY id"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxFile
	for rows.Next() {
		f, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// ExpiredOutbox returns files created before cutoff and not yet removed.
func (s *Store) ExpiredOutbox(ctx context.Context, cutoff time.Time) ([]OutboxFile, error) {
	// In creation order: served by outbox_live_created (ORDER BY id would scan every row kept).
	return s.queryOutbox(ctx, `deleted_at IS NULL AND created_at < ? ORDER BY created_at, id`, cutoff.UnixNano())
}

// LiveOutbox lists what an /out holds. One owner's listing comes from memory (listing.go)
// after its first read.
func (s *Store) LiveOutbox(ctx context.Context, owners ...string) ([]OutboxFile, error) {
	if len(owners) != 1 {
		return s.liveOutbox(ctx, owners...)
	}
	files, ok, token := s.listing.get(owners[0])
	if ok {
		return files, nil
	}
	files, err := s.liveOutbox(ctx, owners[0])
	if err == nil {
		s.listing.fill(owners[0], token, files)
	}
	return files, err
}

// liveOutbox lists what an /out holds: every file of its owners (one username; several only
// under the shared-out defect) not removed, the newest row of each name (a name reused for
// a second status_0 shows its latest receipt), in the order they were made. Content is not
// read: Content holds nil and Size the length.
func (s *Store) liveOutbox(ctx context.Context, owners ...string) ([]OutboxFile, error) {
	in, args := inList(owners)
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, length(content), created_at FROM outbox
		WHERE username IN (`+in+`) AND deleted_at IS NULL AND id IN (SELECT max(id) FROM outbox
			WHERE username IN (`+in+`) AND deleted_at IS NULL GROUP BY name) ORDER BY id`, append(args, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxFile
	for rows.Next() {
		var f OutboxFile
		var created int64
		if err := rows.Scan(&f.ID, &f.Name, &f.Size, &created); err != nil {
			return nil, err
		}
		f.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

// OutboxFile returns one receipt or reply file by its id (a removed one too).
func (s *Store) OutboxFile(ctx context.Context, id int64) (OutboxFile, bool, error) {
	fs, err := s.queryOutbox(ctx, `id = ?`, id)
	if err != nil || len(fs) == 0 {
		return OutboxFile{}, false, err
	}
	return fs[0], true, nil
}

// OutboxByName returns the newest file of that name in an /out.
func (s *Store) OutboxByName(ctx context.Context, name string, owners ...string) (OutboxFile, bool, error) {
	in, args := inList(owners)
	fs, err := s.queryOutbox(ctx, `username IN (`+in+`) AND name = ? AND deleted_at IS NULL`, append(args, name)...)
	if err != nil || len(fs) == 0 {
		return OutboxFile{}, false, err
	}
	return fs[len(fs)-1], true, nil // ordered by id: the newest
}

func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(values)), ","), args
}

// DeleteOutboxName removes a file from a username's /out (DELE with out_delete: allow).
func (s *Store) DeleteOutboxName(ctx context.Context, name string, at time.Time, owners ...string) error {
	in, args := inList(owners)
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET deleted_at = ? WHERE username IN (`+in+`) AND name = ? AND deleted_at IS NULL`,
		append(append([]any{at.UnixNano()}, args...), name)...)
	s.listing.removeName(name, owners) // also on error: read again rather than risk a stale entry
	return err
}

// OldestLiveOutbox returns the creation time of the oldest file still in /out.
func (s *Store) OldestLiveOutbox(ctx context.Context) (time.Time, bool, error) {
	var oldest sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(created_at) FROM outbox WHERE deleted_at IS NULL`).Scan(&oldest)
	if err != nil || !oldest.Valid {
		return time.Time{}, false, err
	}
	return time.Unix(0, oldest.Int64).UTC(), true, nil
}

// Outbox returns every outbox file of a username ("" for all), oldest first.
func (s *Store) Outbox(ctx context.Context, username string) ([]OutboxFile, error) {
	return s.queryOutbox(ctx, `? = '' OR username = ?`, username, username)
}

// MarkDeleted records that retention removed an outbox file.
func (s *Store) MarkDeleted(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET deleted_at = ? WHERE id = ?`, at.UnixNano(), id)
	s.listing.clear() // an older row of the same name may be listed again
	return err
}

// ExpireOutbox marks every live file created before cutoff as removed at at, in one
// statement (served by outbox_live_created), and returns how many it removed.
func (s *Store) ExpireOutbox(ctx context.Context, cutoff, at time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET deleted_at = ? WHERE deleted_at IS NULL AND created_at < ?`, at.UnixNano(), cutoff.UnixNano())
	if err != nil {
		s.listing.clear()
		return 0, err
	}
	n, err := res.RowsAffected()
	if n != 0 || err != nil {
		s.listing.expire(cutoff.UnixNano())
	}
	return n, err
}

// SeedFinished records finished uploads as the pipeline leaves them, for benchmarks: each
// name burned in scopeKey, the submission, its delivery done, and the outbox files files
// returns for its id, all in one transaction; skatID makes each SKAT transaction id.
func (s *Store) SeedFinished(ctx context.Context, scopeKey string, subs []Submission, skatID func(time.Time) string, files func(Delivery) []OutboxFile) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var added []listed
	for _, sub := range subs {
		at := sub.ReceivedAt.UnixNano()
		if _, err := tx.ExecContext(ctx, `INSERT INTO names (scope_key, name, state, username, session, updated_at) VALUES (?, ?, 'committed', ?, ?, ?)`,
			scopeKey, sub.Name, sub.Username, sub.Session, at); err != nil {
			return fmt.Errorf("name %s: %w", sub.Name, err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO submissions (username, cvr, service, name, size, sha256, ascii, validation, reused, session, spool_path, received_at, content)
			VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, '', ?, ?)`,
			sub.Username, sub.CVR, sub.Service, sub.Name, sub.Size, sub.SHA256, sub.Session, at, nonNilBytes(sub.Inline))
		if err != nil {
			return err
		}
		sub.ID, _ = res.LastInsertId()
		d := Delivery{Submission: sub, State: StateDone, NextAt: sub.ReceivedAt, SkatID: skatID(sub.ReceivedAt)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (submission_id, state, next_at, attempts, skat_id, updated_at) VALUES (?, 'done', ?, 0, ?, ?)`,
			sub.ID, at, d.SkatID, at); err != nil {
			return err
		}
		for _, f := range files(d) {
			if added, err = insertOutbox(ctx, tx, sub.ID, f, added); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.listing.add(added)
	return nil
}

// CountSubmissions is the number of completed uploads of a username.
func (s *Store) CountSubmissions(ctx context.Context, username string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM submissions WHERE username = ?`, username).Scan(&n)
	return n, err
}
