package simulator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// seedBatch is the number of seeded uploads per transaction.
const seedBatch = 10_000

// seedHistory adds cfg.SeedHistory.Uploads finished uploads to an identity's history, for
// benchmarks of what the receipt loop, the name registry and LIST /out cost with receipts
// kept (issue 18). Each is as the pipeline leaves it: its name burned, its delivery done, a
// status 1 and a status 2 rendered as usual and live in /out. They are spread over the
// retention period, oldest first, so none expires while a benchmark runs. A store that
// already holds uploads of that identity is left as it is (a restart does not seed twice).
func (g *Gateway) seedHistory(ctx context.Context, m *certs.Manifest) error {
	n := g.cfg.SeedHistory.Uploads
	if n == 0 {
		return nil
	}
	name := g.cfg.SeedHistory.Identity
	if name == "" {
		name = "moces"
	}
	var id *certs.ManifestIdentity
	for i := range m.Identities {
		if m.Identities[i].Name == name {
			id = &m.Identities[i]
		}
	}
	if id == nil || id.Username == "" || len(id.Roles) == 0 {
		return fmt.Errorf("seed_history.identity %q: no identity of that name with a username and a folder in the PKI", name)
	}
	have, err := g.store.CountSubmissions(ctx, id.Username)
	if err != nil || have > 0 {
		if err == nil {
			g.log.Info("seed_history: the store already holds uploads of this identity; not seeded again", "identity", name, "uploads", have)
		}
		return err
	}
	started := time.Now()
	now := g.clock.Now()
	span := max(g.cfg.Retention.Std()-24*time.Hour, time.Hour)
	step := span / time.Duration(n)
	content := []byte("seeded history (benchmark)\n")
	sum := sha256.Sum256(content)
	service := id.Roles[0]
	scope := g.uploads.scopeKey(id.Username, id.CVR)
	files := func(d store.Delivery) []store.OutboxFile {
		at := d.ReceivedAt
		return []store.OutboxFile{g.pipeline.receipt(d, receipt.CodeDelivered, at, "", nil, ""), g.pipeline.receipt(d, receipt.CodeAccepted, at.Add(time.Second), "", nil, "")}
	}
	for from := 0; from < n; from += seedBatch {
		subs := make([]store.Submission, 0, seedBatch)
		for i := from; i < min(from+seedBatch, n); i++ {
			subs = append(subs, store.Submission{Username: id.Username, CVR: id.CVR, Service: service, Name: fmt.Sprintf("hist_%07d.txt", i),
				Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Session: "seed", ReceivedAt: now.Add(-span + time.Duration(i)*step),
				Inline: content})
		}
		if err := g.store.SeedFinished(ctx, scope, subs, receipt.NewTransactionID, files); err != nil {
			return fmt.Errorf("seed_history: %w", err)
		}
	}
	g.log.Info("seed_history: added finished uploads with their receipts", "identity", name, "uploads", n, "receipts", 2*n,
		"took", time.Since(started).Round(time.Millisecond))
	return nil
}
