package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// The neighbours' stores hold only their own tables, version the security source, and
// make delivery idempotent.
func TestServiceStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sec, err := OpenSecurityStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Close()
	rec := control.SecurityRecord{Username: "CVR_19552101_RID_60134540", CVR: "19552101", Fingerprint: "AB", PasswordHash: "h", Roles: []string{"FTPSGW.Heartbeat"}, CreatedAt: time.Now()}
	if err := sec.PutSourceRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := sec.SetSourceRoles(ctx, rec.Username, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	snap, err := sec.SourceSnapshot(ctx)
	if err != nil || snap.Version != 2 || len(snap.Registrations) != 1 || len(snap.Registrations[0].Roles) != 2 || snap.Registrations[0].Fingerprint != "ab" {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	if err := sec.SetSourceRoles(ctx, "CVR_1_RID_2", nil); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("roles of an unknown username: %v", err)
	}
	var tables int
	if err := sec.db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('submissions', 'backend_received')`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("security.db holds other parts' tables: %d %v", tables, err)
	}

	be, err := OpenBackendStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	d := control.BackendDelivery{SkatID: "ci1", Username: rec.Username, Service: "FTPSGW.Heartbeat", Name: "a.txt", ReceivedAt: time.Now()}
	if _, first, err := be.Received(ctx, d); err != nil || !first {
		t.Fatalf("first delivery: %v %v", first, err)
	}
	if got, first, err := be.Received(ctx, d); err != nil || first || got.Attempts != 2 {
		t.Fatalf("second delivery: %+v %v %v", got, first, err)
	}
	if err := be.db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('submissions', 'security_source')`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("backend.db holds other parts' tables: %d %v", tables, err)
	}
}
