// Package control is the wire format and typed Go client of the simulator's control API
// (HTTP+JSON under /control/v1, described by openapi.yaml beside this file). It imports
// nothing of the simulator, so the conformance steps can use it against any gateway that
// offers the same API.
package control

import (
	"encoding/json"
	"time"
)

// APIPrefix is the versioned path prefix of every endpoint.
const APIPrefix = "/control/v1"

// Health is GET /health.
type Health struct {
	Status            string    `json:"status"` // "ok"
	Version           string    `json:"version"`
	Clock             Clock     `json:"clock"`
	BackendUp         bool      `json:"backend_up"`
	SecurityReachable bool      `json:"security_reachable"`
	LastReplication   time.Time `json:"last_replication"`
	QueueDepth        int       `json:"queue_depth"` // uploads with receipts to come, plus receipts not yet in /out
	FTPS              string    `json:"ftps"`
	FTPSImplicit      string    `json:"ftps_implicit,omitempty"`
}

// Clock is GET /clock and the answer of POST /clock/advance.
type Clock struct {
	Now  time.Time `json:"now"`
	Mode string    `json:"mode"` // "real" or "virtual"
}

// Advance is the body of POST /clock/advance: a Go duration such as "7h" or "90s".
type Advance struct {
	By string `json:"by"`
}

// Registration is a certificate registered for the gateway (GET/POST /registrations).
type Registration struct {
	Username       string   `json:"username"`
	CVR            string   `json:"cvr,omitempty"`
	Fingerprint    string   `json:"fingerprint,omitempty"`
	Roles          []string `json:"roles"`
	CertificatePEM string   `json:"certificate_pem,omitempty"` // POST only
	Password       string   `json:"password,omitempty"`        // POST only; never returned
}

// Roles is the body of PUT /security/roles/{username}.
type Roles struct {
	Roles []string `json:"roles"`
}

// Security is GET/PUT /security.
type Security struct {
	Reachable       *bool     `json:"reachable,omitempty"`
	LastReplication time.Time `json:"last_replication,omitzero"`
	NextReplication time.Time `json:"next_replication,omitzero"`
}

// ServiceRule says how the backend answers one service (see the simulator's config).
type ServiceRule struct {
	Action       string `json:"action"` // accept | reject
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	Delay        string `json:"delay,omitempty"` // Go duration
	RequireASCII bool   `json:"require_ascii,omitempty"`
	RecordLength int    `json:"record_length,omitempty"`
	FixedRecord  bool   `json:"fixed_record,omitempty"` // start record 0001, end record 9998 with the record count
	Preset       string `json:"preset,omitempty"`       // akfa | cps | ifpa: the published record layout
	Lists        string `json:"lists,omitempty"`        // errors | errors+advice: status 3 brings an error list (and an advice list)
	Reply        bool   `json:"reply,omitempty"`
	ExposeDelay  string `json:"expose_delay,omitempty"`
}

// Backend is GET/PUT /backend. In a PUT, absent fields are left as they are; a service
// rule given replaces that service's rule.
type Backend struct {
	Up       *bool                  `json:"up,omitempty"`
	Default  *ServiceRule           `json:"default,omitempty"`
	Services map[string]ServiceRule `json:"services,omitempty"`
}

// EventType says what a journal event records.
type EventType string

// Journal event types.
const (
	EventConnect    EventType = "connect"    // control connection accepted
	EventTLS        EventType = "tls"        // control TLS handshake verified (or refused: Reason set)
	EventDataTLS    EventType = "data-tls"   // data connection TLS handshake (Resumed says if it resumed)
	EventCommand    EventType = "command"    // a command line received (PASS redacted)
	EventReply      EventType = "reply"      // a reply line sent
	EventLogin      EventType = "login"      // login accepted or refused (Reason)
	EventUpload     EventType = "upload"     // upload completed, aborted or refused
	EventDownload   EventType = "download"   // a file read from /out
	EventDisconnect EventType = "disconnect" // control connection closed
	EventReceipt    EventType = "receipt"    // a receipt or reply file put in /out
)

// ReasonNoCloseNotify is the journal's note (in an upload event's reason) on an upload
// accepted although its TLS data connection ended without close_notify (close_notify:
// optional, or client certification's observer).
const ReasonNoCloseNotify = "the data connection ended without a TLS close_notify"

// EventTypes lists every event type (GET /journal?type= accepts these only).
var EventTypes = []EventType{EventConnect, EventTLS, EventDataTLS, EventCommand, EventReply, EventLogin,
	EventUpload, EventDownload, EventDisconnect, EventReceipt}

// MarshalJSON writes code also when it is 0 for the events whose code is data (a receipt's
// status 0); for the others it is left out when unset.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	if e.Type != EventReceipt && e.Type != EventReply {
		return json.Marshal(plain(e))
	}
	return json.Marshal(struct {
		plain
		Code int `json:"code"`
	}{plain(e), e.Code})
}

// Event is one journal entry (GET /journal). Fields that do not apply are empty.
type Event struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	Session     string    `json:"session,omitempty"`
	Remote      string    `json:"remote,omitempty"`
	Username    string    `json:"username,omitempty"`
	Type        EventType `json:"type"`
	Line        string    `json:"line,omitempty"` // command or reply text
	Code        int       `json:"code,omitempty"` // reply or receipt code
	TLSVersion  string    `json:"tls_version,omitempty"`
	Cipher      string    `json:"cipher,omitempty"`
	Resumed     bool      `json:"resumed,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"` // client certificate SHA-256
	Identity    string    `json:"identity,omitempty"`    // e.g. CVR:19552101-RID:60134540
	Path        string    `json:"path,omitempty"`
	Size        int64     `json:"size,omitempty"`
	ASCII       bool      `json:"ascii,omitempty"`
	OK          bool      `json:"ok"`
	Reason      string    `json:"reason,omitempty"`
}

// Journal is GET /journal.
type Journal struct {
	Events  []Event `json:"events"`
	LastSeq int64   `json:"last_seq"`
	Dropped int64   `json:"dropped"`
}

// Receipt is a status file (or a reply file) the gateway put in a certificate's /out.
type Receipt struct {
	Username  string    `json:"username"`
	Service   string    `json:"service"`
	Filename  string    `json:"filename"` // the uploaded file name (FTPTransaktionsId)
	Kind      string    `json:"kind"`     // "receipt" or "reply"
	Code      int       `json:"code"`     // 0..3 for receipts; -1 for a reply file
	Name      string    `json:"name"`     // file name in /out
	Created   time.Time `json:"created"`
	Deleted   bool      `json:"deleted"` // removed by retention
	ErrorCode string    `json:"error_code,omitempty"`
	Content   string    `json:"content"`
}

// Submission is an upload the gateway accepted (GET /submissions).
type Submission struct {
	ID         int64     `json:"id"`
	Username   string    `json:"username"`
	Service    string    `json:"service"`
	Name       string    `json:"name"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	ASCII      bool      `json:"ascii"`
	Validation bool      `json:"validation"`
	Reused     bool      `json:"reused"`
	ReceivedAt time.Time `json:"received_at"`
	State      string    `json:"state"` // queued, delivered, accepted, done
	Attempts   int       `json:"attempts"`
	// NextAt is when the gateway next moves it on (a delivery attempt or its next receipt),
	// on the gateway's clock; absent once done.
	NextAt time.Time `json:"next_at,omitzero"`
}

// Faults is GET/PUT /faults: armed faults, for certifying how clients cope. Each count is how
// many of the next occurrences fail: drop_at_login closes the control connection when the
// password is sent; drop_at_stor closes it when a STOR starts (nothing is stored).
// ServerCertificate, until changed or reset, makes the gateway present an impostor
// certificate of its PKI on every new connection: "foreign-ca" (its host names, from a CA
// the client was not given) or "wrong-host" (the trusted CA, another host name); "" is the
// genuine one.
type Faults struct {
	DropAtLogin       int    `json:"drop_at_login"`
	DropAtStor        int    `json:"drop_at_stor"`
	ServerCertificate string `json:"server_certificate,omitempty"`
}

// The impostor certificates Faults.ServerCertificate may name.
const (
	ImpostorForeignCA = "foreign-ca"
	ImpostorWrongHost = "wrong-host"
)

// Observation is PUT/GET /observation: the progress of a client observation
// (certify-client --observe) as its judge sees it so far, for the dashboard.
type Observation struct {
	Updated      time.Time             `json:"updated"`
	Cases        []ObservedCase        `json:"cases"`
	Requirements []ObservedRequirement `json:"requirements"`
}

// ObservedCase is one case the gateway plays, in order, with where it stands.
type ObservedCase struct {
	Description string `json:"description"`
	State       string `json:"state"`
}

// ObservedRequirement is one client requirement's verdict so far.
type ObservedRequirement struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status string `json:"status"` // PASS, FAIL, WARN, NOT EXERCISED
	Reason string `json:"reason,omitempty"`
}

// Error is the body of every 4xx/5xx answer.
type Error struct {
	Error string `json:"error"`
}

// LeaseHeader carries the lease holder on control API requests.
const LeaseHeader = "X-Ftpsgw-Lease"

// Lease is the body of POST /lease and its answer: one certification run at a time may
// change a simulator (reset it, move its clock); while a lease is held, changing requests
// from anyone else get 409.
type Lease struct {
	Holder  string    `json:"holder"`
	TTL     string    `json:"ttl,omitempty"` // Go duration, at most 1h; renew before it ends
	Since   time.Time `json:"since,omitempty"`
	Expires time.Time `json:"expires,omitempty"`
}
