package simulator

import (
	"log/slog"

	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// core is what every part of the gateway shares: its settings, its rules, the clock, the
// store, the journal, the log and the metrics. Each part reads only the rules it enforces.
type core struct {
	cfg     Config
	rules   Rules // what this gateway enforces (RulesFor(cfg))
	clock   clock.Clock
	store   *store.Store
	journal *journal.Journal
	log     *slog.Logger
	metrics *metrics
}
