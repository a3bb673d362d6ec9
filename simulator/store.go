package simulator

import "github.com/ftpsgw/ftpsgw/simulator/internal/store"

// The gateway's durable state lives in internal/store; these are its public names.
type (
	// Store is the gateway's SQLite database.
	Store = store.Store
	// Registration is a certificate registered for the gateway with its password and roles.
	Registration = store.Registration
	// Submission is an accepted upload.
	Submission = store.Submission
	// Delivery is a submission on its way through the receipt pipeline.
	Delivery = store.Delivery
	// OutboxFile is a receipt or reply file in a certificate's /out.
	OutboxFile = store.OutboxFile
)

// Store errors.
var (
	ErrNotRegistered = store.ErrNotRegistered
	ErrNameReused    = store.ErrNameReused
	ErrNameBusy      = store.ErrNameBusy
)

// OpenStore opens (creating if needed) dataDir/gateway.db.
func OpenStore(dataDir string) (*Store, error) { return store.OpenStore(dataDir) }

func nonNil(s []string) []string { return store.NonNil(s) }
