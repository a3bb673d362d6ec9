package simulator

import (
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// Public names of the simulator's internal parts, for the programs and tests that embed it
// (the simulator's own code uses the internal packages directly).
type (
	// Clock is the one source of time for every rule of the gateway (see internal/clock).
	Clock = clock.Clock
	// RealClock is the wall clock.
	RealClock = clock.Real
	// Journal is the in-memory record of every session (see internal/journal).
	Journal = journal.Journal
	// JournalQuery selects journal events; empty fields match everything.
	JournalQuery = journal.Query
	// Event and EventType are the control API's wire types: the journal is what the API serves.
	Event     = control.Event
	EventType = control.EventType

	// Store is the gateway's SQLite database (see internal/store).
	Store = store.Store
	// Registration is a certificate registered for the gateway with its password and roles.
	Registration = store.Registration
	// Submission is an accepted upload.
	Submission = store.Submission
	// ReceiptError is the Error element of a status_0 receipt.
	ReceiptError = receipt.Error
)

// Journal event types (see the control package for their meaning).
const (
	EventConnect    = control.EventConnect
	EventTLS        = control.EventTLS
	EventDataTLS    = control.EventDataTLS
	EventCommand    = control.EventCommand
	EventReply      = control.EventReply
	EventLogin      = control.EventLogin
	EventUpload     = control.EventUpload
	EventDownload   = control.EventDownload
	EventDisconnect = control.EventDisconnect
	EventReceipt    = control.EventReceipt
)

// Receipt error codes (see internal/receipt for all of them).
const (
	ErrCodeNameReused   = receipt.ErrCodeNameReused
	ErrCodeNotASCII     = receipt.ErrCodeNotASCII
	ErrCodeRecordLength = receipt.ErrCodeRecordLength
)

// NewVirtualClock starts a virtual clock at start (UTC, whole milliseconds).
func NewVirtualClock(start time.Time) *clock.Virtual { return clock.NewVirtual(start) }

// OpenStore opens (creating if needed) dataDir/gateway.db.
func OpenStore(dataDir string) (*Store, error) { return store.OpenStore(dataDir) }

// ReplyName is the name of a backend's reply file in /out. ASSUMED form.
func ReplyName(service, uploaded string) string { return receipt.ReplyName(service, uploaded) }
