package simulator

import _ "embed"

// StatusXSD is the XML schema of status files (receipts), served at /control/v1/schema/status.xsd.
//
//go:embed schema/status.xsd
var StatusXSD []byte
