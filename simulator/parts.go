package simulator

import (
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
)

// The simulator's public names for its parts' types (the parts live in internal/).
type (
	// Clock is the one source of time for every rule of the gateway (see internal/clock).
	Clock = clock.Clock
	// RealClock is the wall clock.
	RealClock = clock.Real
	// VirtualClock moves only when the control API advances it.
	VirtualClock = clock.Virtual

	// Journal is the in-memory record of every session (see internal/journal).
	Journal = journal.Journal
	// JournalQuery selects journal events; empty fields match everything.
	JournalQuery = journal.Query
	// Event and EventType are the control API's wire types: the journal is what the API serves.
	Event     = control.Event
	EventType = control.EventType
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

// NewVirtualClock starts a virtual clock at start (UTC, whole milliseconds).
func NewVirtualClock(start time.Time) *VirtualClock { return clock.NewVirtual(start) }

// NewJournal makes a journal keeping at most capacity events.
func NewJournal(capacity int, c Clock) *Journal { return journal.New(capacity, c) }
