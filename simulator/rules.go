package simulator

import (
	"crypto/tls"
	"fmt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"slices"
	"strings"
)

// Rules is what the gateway enforces, as one value. SKAT() gives the real gateway's rules
// (documented ones as published, assumed ones at their stricter reading); a defect is SKAT()
// with one named edit; client certification's observer is SKAT() with the Observe edit.
// Rule code reads these fields and nothing else: no defect name is ever tested in rule code.
//
// Every leaf field carries the id of the requirement it implements in its `req` tag, so a
// test can prove that each defect changes exactly one rule, and which requirement that is.
type Rules struct {
	TLS      TLSRules
	Data     DataRules
	Login    LoginRules
	Folders  FolderRules
	Out      OutRules
	Names    NameRules
	Receipts ReceiptRules
	Outage   OutageRules
	Network  NetworkRules
}

// TLSRules: the control connection's handshake.
type TLSRules struct {
	// MaxVersion is the newest TLS version a handshake may agree on (the oldest is always 1.2).
	MaxVersion uint16 `req:"GW-TLS-01"`
	// RequireClientCert refuses a handshake (and a login) without a valid client certificate.
	RequireClientCert bool `req:"GW-TLS-02"`
}

// DataRules: data connections.
type DataRules struct {
	// RequireProtection refuses transfers after PROT C: no data in clear.
	RequireProtection bool `req:"GW-TLS-03"`
	// RequireResumption refuses a data connection that does not resume its own control
	// connection's TLS session. ASSUMED; the serve setting session_reuse sets it.
	RequireResumption bool `req:"GW-TLS-04"`
	// RequireCloseNotify: an upload whose TLS data connection ends without close_notify (a
	// bare TCP FIN, which an attacker on the path can forge at any record boundary) is not
	// complete: refused, nothing recorded, the name stays free. ASSUMED; the serve setting
	// close_notify sets it.
	RequireCloseNotify bool `req:"GW-TLS-05"`
}

// LoginRules: USER and PASS.
type LoginRules struct {
	// CheckPassword: the password must be the registered one (certificate AND password).
	CheckPassword bool `req:"GW-AUTH-01"`
	// UsernameMustMatchCertificate: the username is the one built from the certificate, and
	// the registration under it is for this very certificate.
	UsernameMustMatchCertificate bool `req:"GW-AUTH-02"`
	// RequireRegistration: only registered certificates log in.
	RequireRegistration bool `req:"GW-AUTH-03"`
	// AdmitOCES3: OCES3 (MitID Erhverv, UI) certificates log in like OCES II ones.
	AdmitOCES3 bool `req:"GW-AUTH-04"`
}

// FolderRules: what the inbox shows.
type FolderRules struct {
	// FilterByRoles: the root lists only the folders of the certificate's current roles.
	FilterByRoles bool `req:"GW-DIR-01"`
	// RolesFromReplica: role changes in the security system show only after replication.
	RolesFromReplica bool `req:"GW-DIR-02"`
}

// OutRules: the outbox.
type OutRules struct {
	// PrivatePerCertificate: each certificate sees only its own /out, also within one CVR.
	PrivatePerCertificate bool `req:"GW-OUT-01"`
	// OwnerMayDelete: a certificate may DELE its own files in /out (SKAT recommends deleting
	// checked receipts); another certificate's never. The serve setting out_delete sets it.
	OwnerMayDelete bool `req:"GW-OUT-02"`
}

// NameRules: submitted file names.
type NameRules struct {
	// RefuseReuse: a name submitted before gets status_0 FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION.
	RefuseReuse bool `req:"GW-NAME-01"`
	// PerServiceRules: each service's own name rule (the heartbeat's with dashes, CRS's form)
	// and the published val_ rule; off, the general rule applies everywhere.
	PerServiceRules bool `req:"GW-NAME-02"`
	// EnforceCharacterRule: the general rule (letters, digits, underscore, at most 78) is
	// applied in services without a rule of their own. ASSUMED.
	EnforceCharacterRule bool `req:"GW-NAME-03"`
}

// ReceiptRules: status files.
type ReceiptRules struct {
	// TransactionIDElement is the element that carries the uploaded name; SKAT publishes
	// the mixed spelling FTPTransaktionsId.
	TransactionIDElement string `req:"GW-STAT-01"`
	// ErrorCodeOnReject: a status_0 for a rejected file carries its Error element.
	ErrorCodeOnReject bool `req:"GW-STAT-02"`
	// Expire: receipts and reply files leave /out after the retention period.
	Expire bool `req:"GW-STAT-03"`
	// CheckFixedRecords: a service rule's fixed_record checks (start record 0001, end record
	// 9998 and its count) are applied.
	CheckFixedRecords bool `req:"GW-STAT-04"`
}

// OutageRules: a backend outage.
type OutageRules struct {
	// InUploadOrder: files that waited out an outage are delivered oldest first.
	InUploadOrder bool `req:"GW-BACK-01"`
	// NeverStatus0: an outage never turns into a status_0, however long it lasts.
	NeverStatus0 bool `req:"GW-BACK-02"`
}

// NetworkRules: how data connections are made.
type NetworkRules struct {
	// PassiveOnly refuses PORT and EPRT.
	PassiveOnly bool `req:"GW-NET-01"`
}

// SKAT returns the rules of SKAT's gateway at their strictest: every documented rule, and
// every assumed one (session resumption) at its stricter reading. Config relaxes the
// assumed ones (session_reuse: off).
func SKAT() Rules {
	return Rules{
		TLS:      TLSRules{MaxVersion: tls.VersionTLS12, RequireClientCert: true},
		Data:     DataRules{RequireProtection: true, RequireResumption: true, RequireCloseNotify: true},
		Login:    LoginRules{CheckPassword: true, UsernameMustMatchCertificate: true, RequireRegistration: true, AdmitOCES3: true},
		Folders:  FolderRules{FilterByRoles: true, RolesFromReplica: true},
		Out:      OutRules{PrivatePerCertificate: true, OwnerMayDelete: true},
		Names:    NameRules{RefuseReuse: true, PerServiceRules: true, EnforceCharacterRule: true},
		Receipts: ReceiptRules{TransactionIDElement: receipt.PublishedTransactionIDElement, ErrorCodeOnReject: true, Expire: true, CheckFixedRecords: true},
		Outage:   OutageRules{InUploadOrder: true, NeverStatus0: true},
		Network:  NetworkRules{PassiveOnly: true},
	}
}

// Edit is one named change to the rules.
type Edit struct {
	Name string
	// Requirement is the id of the requirement the edit breaks (defects only).
	Requirement string
	// Breaks says how, in a sentence.
	Breaks string
	apply  func(*Rules)
}

// Apply returns r with the edit made.
func (e Edit) Apply(r Rules) Rules {
	e.apply(&r)
	return r
}

// Defect is a rule broken on purpose. The conformance suite is certified against the
// simulator with each one to prove it catches the break; vendors use them to see how their
// clients react to a misbehaving gateway.
type Defect = Edit

// Defect names.
const (
	DefectTLS13            = "accept-tls13"
	DefectNoClientCert     = "no-client-cert"
	DefectIgnoreUsername   = "ignore-username-mismatch"
	DefectAcceptReused     = "accept-reused-names"
	DefectSharedOut        = "shared-out"
	DefectShowAllFolders   = "show-all-folders"
	DefectStatus0OnOutage  = "status0-on-outage"
	DefectInstantRoles     = "roles-without-replication"
	DefectClearData        = "clear-data"
	DefectNoSessionReuse   = "no-session-reuse"
	DefectActiveMode       = "active-mode"
	DefectNoRetention      = "no-retention"
	DefectAnyPassword      = "any-password"
	DefectUnregistered     = "accept-unregistered"
	DefectRejectNoCode     = "reject-without-error-code"
	DefectRefuseOCES3      = "refuse-oces3"
	DefectAcceptBadNames   = "accept-bad-names"
	DefectMisspeltReceipt  = "receipt-element-misspelt"
	DefectReverseAfterDown = "reverse-order-after-outage"
	DefectTruncation       = "accept-truncated-uploads"
	DefectNoDelete         = "out-delete-refused"
	DefectFixedUnchecked   = "fixed-records-unchecked"
	DefectOneNameRule      = "one-name-rule"
)

var defects = []Defect{
	{DefectTLS13, "GW-TLS-01", "TLS 1.3 handshakes are accepted", func(r *Rules) { r.TLS.MaxVersion = tls.VersionTLS13 }},
	{DefectNoClientCert, "GW-TLS-02", "a client without a certificate can log in with username and password", func(r *Rules) { r.TLS.RequireClientCert = false }},
	{DefectClearData, "GW-TLS-03", "after PROT C, data connections run in clear", func(r *Rules) { r.Data.RequireProtection = false }},
	{DefectNoSessionReuse, "GW-TLS-04", "data connections need not resume the control connection's TLS session", func(r *Rules) { r.Data.RequireResumption = false }},
	{DefectTruncation, "GW-TLS-05", "an upload whose data connection ends without TLS close_notify is accepted as complete", func(r *Rules) { r.Data.RequireCloseNotify = false }},
	{DefectAnyPassword, "GW-AUTH-01", "any password is accepted for a registered certificate", func(r *Rules) { r.Login.CheckPassword = false }},
	{DefectIgnoreUsername, "GW-AUTH-02", "a username that does not belong to the certificate is accepted", func(r *Rules) { r.Login.UsernameMustMatchCertificate = false }},
	{DefectUnregistered, "GW-AUTH-03", "certificates log in without a registration", func(r *Rules) { r.Login.RequireRegistration = false }},
	{DefectRefuseOCES3, "GW-AUTH-04", "OCES3 (UI) certificates cannot log in", func(r *Rules) { r.Login.AdmitOCES3 = false }},
	{DefectShowAllFolders, "GW-DIR-01", "the root lists every service folder, not only the certificate's roles", func(r *Rules) { r.Folders.FilterByRoles = false }},
	{DefectInstantRoles, "GW-DIR-02", "role changes apply at once, without waiting for replication", func(r *Rules) { r.Folders.RolesFromReplica = false }},
	{DefectSharedOut, "GW-OUT-01", "certificates of one CVR share one /out", func(r *Rules) { r.Out.PrivatePerCertificate = false }},
	{DefectNoDelete, "GW-OUT-02", "a certificate cannot delete its own receipts from /out", func(r *Rules) { r.Out.OwnerMayDelete = false }},
	{DefectAcceptReused, "GW-NAME-01", "a reused name is accepted like a new one (no status_0)", func(r *Rules) { r.Names.RefuseReuse = false }},
	{DefectOneNameRule, "GW-NAME-02", "one name rule for every folder: SKAT's own heartbeat name (with a dash) is refused", func(r *Rules) { r.Names.PerServiceRules = false }},
	{DefectAcceptBadNames, "GW-NAME-03", "names breaking the general rule (dashes, spaces, too long) are accepted and filed", func(r *Rules) { r.Names.EnforceCharacterRule = false }},
	{DefectMisspeltReceipt, "GW-STAT-01", "receipts say FTPTransactionId instead of the published FTPTransaktionsId", func(r *Rules) { r.Receipts.TransactionIDElement = "FTPTransactionId" }},
	{DefectRejectNoCode, "GW-STAT-02", "a file the backend rejects gets status_0 without Error.code", func(r *Rules) { r.Receipts.ErrorCodeOnReject = false }},
	{DefectFixedUnchecked, "GW-STAT-04", "fixed-record files are not checked for their start record 0001 and end record 9998", func(r *Rules) { r.Receipts.CheckFixedRecords = false }},
	{DefectNoRetention, "GW-STAT-03", "receipts stay in /out forever", func(r *Rules) { r.Receipts.Expire = false }},
	{DefectReverseAfterDown, "GW-BACK-01", "files waiting out an outage are delivered newest first", func(r *Rules) { r.Outage.InUploadOrder = false }},
	{DefectStatus0OnOutage, "GW-BACK-02", "a file not delivered within 6 hours of an outage gets status_0 'Backend System not available'", func(r *Rules) { r.Outage.NeverStatus0 = false }},
	{DefectActiveMode, "GW-NET-01", "PORT and EPRT are accepted (active mode)", func(r *Rules) { r.Network.PassiveOnly = false }},
}

// Observe is client certification's edit: the simulator accepts what the client
// requirements judge (TLS 1.3, no client certificate, clear data connections, no session
// resumption, uploads ended without close_notify, active mode) and records it in the journal, so each client mistake shows up as its own
// requirement instead of stopping the client at the first refusal. It is not a defect list:
// everything else (login checks, folders, names, receipts) stays as SKAT's.
var Observe = Edit{Name: "observe", Breaks: "TLS version, client certificate, data protection, resumption and close_notify, and passive mode are observed, not enforced",
	apply: func(r *Rules) {
		r.TLS.MaxVersion = tls.VersionTLS13
		r.TLS.RequireClientCert = false
		r.Data.RequireProtection = false
		r.Data.RequireResumption = false
		r.Data.RequireCloseNotify = false
		r.Network.PassiveOnly = false
	}}

// Defects lists every defect.
func Defects() []Defect { return slices.Clone(defects) }

func defectByName(name string) (Defect, bool) {
	i := slices.IndexFunc(defects, func(d Defect) bool { return d.Name == name })
	if i < 0 {
		return Defect{}, false
	}
	return defects[i], true
}

func validateDefects(names []string) error {
	for _, n := range names {
		if _, ok := defectByName(n); !ok {
			var all []string
			for _, d := range defects {
				all = append(all, d.Name)
			}
			return fmt.Errorf("defects: unknown %q (known: %s)", n, strings.Join(all, ", "))
		}
	}
	return nil
}

// RulesFor gives the rules a configuration asks for: SKAT(), the assumed rules as the
// settings say, the observer if set, then every defect. The configuration is validated.
func RulesFor(cfg Config) Rules {
	r := SKAT()
	r.Data.RequireResumption = cfg.SessionReuse == ReuseRequired
	r.Data.RequireCloseNotify = cfg.CloseNotify != CloseNotifyOptional
	r.Out.OwnerMayDelete = cfg.OutDelete != OutDeleteDeny
	if cfg.Observe {
		r = Observe.Apply(r)
	}
	for _, n := range cfg.Defects {
		if d, ok := defectByName(n); ok {
			r = d.Apply(r)
		}
	}
	return r
}
