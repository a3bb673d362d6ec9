package simulator

import (
	"fmt"
	"slices"
	"strings"
)

// Defect is a switch that breaks one gateway rule on purpose. The conformance suite is
// certified against the simulator with each one to prove it catches the break; vendors use
// them to see how their clients react to a misbehaving gateway.
type Defect struct {
	Name   string
	Breaks string // the requirement it breaks and how
}

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
)

var defects = []Defect{
	{DefectTLS13, "GW-TLS-01: TLS 1.3 handshakes are accepted"},
	{DefectNoClientCert, "GW-TLS-02: a client without a certificate can log in with username and password"},
	{DefectClearData, "GW-TLS-03: after PROT C, data connections run in clear"},
	{DefectNoSessionReuse, "GW-TLS-04: data connections need not resume the control connection's TLS session"},
	{DefectAnyPassword, "GW-AUTH-01: any password is accepted for a registered certificate"},
	{DefectIgnoreUsername, "GW-AUTH-02: a username that does not belong to the certificate is accepted"},
	{DefectUnregistered, "GW-AUTH-03: certificates log in without a registration"},
	{DefectRefuseOCES3, "GW-AUTH-04: OCES3 (UI) certificates cannot log in"},
	{DefectShowAllFolders, "GW-DIR-01: the root lists every service folder, not only the certificate's roles"},
	{DefectInstantRoles, "GW-DIR-02: role changes apply at once, without waiting for replication"},
	{DefectSharedOut, "GW-OUT-01: certificates of one CVR share one /out"},
	{DefectAcceptReused, "GW-NAME-01: a reused name is accepted like a new one (no status_0)"},
	{DefectAcceptBadNames, "GW-NAME-02: names breaking the rules (dashes, spaces, too long) are accepted and filed"},
	{DefectMisspeltReceipt, "GW-STAT-01: receipts say FTPTransactionId instead of the published FTPTransaktionsId"},
	{DefectRejectNoCode, "GW-STAT-02: a file the backend rejects gets status_0 without Error.code"},
	{DefectNoRetention, "GW-STAT-03: receipts stay in /out forever"},
	{DefectReverseAfterDown, "GW-BACK-01: files waiting out an outage are delivered newest first"},
	{DefectStatus0OnOutage, "GW-BACK-02: a file not delivered within 6 hours of an outage gets status_0 'Backend System not available'"},
	{DefectActiveMode, "GW-NET-01: PORT and EPRT are accepted (active mode)"},
}

// Defects lists every defect switch.
func Defects() []Defect { return slices.Clone(defects) }

func validateDefects(names []string) error {
	for _, n := range names {
		if !slices.ContainsFunc(defects, func(d Defect) bool { return d.Name == n }) {
			var all []string
			for _, d := range defects {
				all = append(all, d.Name)
			}
			return fmt.Errorf("defects: unknown %q (known: %s)", n, strings.Join(all, ", "))
		}
	}
	return nil
}

func (g *Gateway) defect(name string) bool { return slices.Contains(g.cfg.Defects, name) }
