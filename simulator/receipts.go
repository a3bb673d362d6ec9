package simulator

import (
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/internal/names"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
)

// Receipts and file names live in internal/receipt and internal/names; these are the
// simulator's public names for them.

// Receipt codes.
const (
	CodeError     = receipt.CodeError
	CodeDelivered = receipt.CodeDelivered
	CodeAccepted  = receipt.CodeAccepted
	CodeExposed   = receipt.CodeExposed
	codeReply     = receipt.CodeReply
)

// Error codes.
const (
	ErrCodeNameReused   = receipt.ErrCodeNameReused
	ErrCodeNotASCII     = receipt.ErrCodeNotASCII
	ErrCodeRecordLength = receipt.ErrCodeRecordLength
	ErrCodeFirstRecord  = receipt.ErrCodeFirstRecord
	ErrCodeLastRecord   = receipt.ErrCodeLastRecord
	ErrCodeBackendDown  = receipt.ErrCodeBackendDown
	ErrCodeInternal     = receipt.ErrCodeInternal
)

// PublishedTransactionIDElement is the receipt element name SKAT publishes (spelling as is).
const PublishedTransactionIDElement = receipt.PublishedTransactionIDElement

// ReceiptError is the Error element of a status_0 receipt.
type ReceiptError = receipt.Error

var errorTexts = receipt.ErrorTexts

// ReceiptName is status_<service>_<FTPTransactionID>_<code>.xml.
func ReceiptName(service, uploaded string, code int) string {
	return receipt.Name(service, uploaded, code)
}

// ReplyName is the name of a backend's reply file in /out. ASSUMED form.
func ReplyName(service, uploaded string) string { return receipt.ReplyName(service, uploaded) }

// RenderReceipt builds a status file as the rules say: with SKAT's rules exactly as published.
func RenderReceipt(d Delivery, code int, at time.Time, statusText string, rerr *ReceiptError, replyName string, rules ReceiptRules) []byte {
	return receipt.Render(d, code, at, statusText, rerr, replyName, rules.TransactionIDElement)
}

// RenderReply builds the simulated backend's reply file.
func RenderReply(d Delivery) []byte { return receipt.RenderReply(d) }

// FileName is an upload name split into its parts.
type FileName = names.FileName

// ParseFileName checks the name rules (internal/names).
func ParseFileName(name string) (FileName, error) { return names.Parse(name) }
