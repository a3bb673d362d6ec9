package store

import (
	"context"
	"strings"
	"testing"
)

// The receipt loop runs these on every wake and the retention sweep on every pass: each must
// be answered from an index, never by scanning every receipt kept (issue 18: the loop's cost
// grew with the receipts in /out). Checked on SQLite's own query plan, not by timing.
func TestReceiptLoopQueriesUseIndexes(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct{ query, index string }{
		{`SELECT min(created_at) FROM outbox WHERE deleted_at IS NULL`, "outbox_live_created"},
		{`SELECT ` + outboxColumns + ` FROM outbox WHERE deleted_at IS NULL AND created_at < 5 ORDER BY created_at, id`, "outbox_live_created"},
		{`SELECT min(next_at) FROM deliveries WHERE state != 'done'`, "deliveries_open"},
		{`SELECT ` + deliveryColumns + ` FROM deliveries d JOIN submissions s ON s.id = d.submission_id WHERE d.state != 'done' AND d.next_at <= 5 ORDER BY d.next_at, d.submission_id LIMIT 256`, "deliveries_open"},
		// the partial index holds only the unfinished deliveries: scanning it costs what is in flight
		{`SELECT count(*), min(s.received_at) FROM deliveries d JOIN submissions s ON s.id = d.submission_id WHERE d.state != 'done'`, "deliveries_open"},
	} {
		rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		bad := !strings.Contains(joined, tc.index)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN") && !strings.Contains(step, "INDEX") {
				bad = true // a scan of the whole table
			}
		}
		if bad {
			t.Errorf("%s\n  plan: %s; want it served by %s", tc.query, joined, tc.index)
		}
	}
}
