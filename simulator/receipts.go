package simulator

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
	_ "time/tzdata" // the receipt timestamp is Danish time, also in a FROM scratch image
)

// Receipt codes (GATEWAY.md §6).
const (
	CodeError     = 0
	CodeDelivered = 1
	CodeAccepted  = 2
	CodeExposed   = 3
	codeReply     = -1 // outbox rows of reply files
)

// statusTexts are the status.code texts. Codes 1-3 are as published; the text for 0 and for a
// validated val_ file are ASSUMED.
var statusTexts = map[int]string{
	CodeError:     "File rejected",
	CodeDelivered: "File delivered to requested Backend System",
	CodeAccepted:  "File Accepted",
	CodeExposed:   "File exposed",
}

const validatedText = "File validated, not filed (val_ prefix)"

// Error codes the simulated backend answers with (GATEWAY.md §6).
const (
	ErrCodeNotASCII     = "FILE_NOT_UPLOADED_IN_ASCII_MODE"
	ErrCodeRecordLength = "RECORD_LENGTH_INCORRECT"
)

// ReceiptError is the Error element of a status_0 receipt.
type ReceiptError struct {
	Code       string `xml:"Error.code"`
	Message    string `xml:"Error.message"`
	Resolution string `xml:"Error.resolution"`
}

var errorTexts = map[string]ReceiptError{
	ErrCodeNameReused: {ErrCodeNameReused, "The file name has been submitted before; a name can be used only once.",
		"Upload the file again under a new, unique name."},
	ErrCodeNotASCII: {ErrCodeNotASCII, "The file was not uploaded in ASCII mode.",
		"Upload the file again with TYPE A (ASCII mode) under a new name."},
	ErrCodeRecordLength: {ErrCodeRecordLength, "A record does not have the length the format requires.",
		"Correct the record lengths and upload the file under a new name."},
}

type statusXML struct {
	XMLName xml.Name   `xml:"status"`
	File    statusFile `xml:"file"`
}

type statusFile struct {
	Filename          string        `xml:"filename"`
	FTPTransaktionsId string        `xml:"FTPTransaktionsId"`
	SKATTransactionId string        `xml:"SKATTransactionId"`
	Timestamp         string        `xml:"timestamp"`
	StatusCode        string        `xml:"status.code"`
	Service           string        `xml:"service"`
	Response          *responseXML  `xml:"Response,omitempty"`
	Error             *ReceiptError `xml:"Error,omitempty"`
}

type responseXML struct {
	Filename string `xml:"Filename"`
}

var copenhagen = mustLocation("Europe/Copenhagen")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// ReceiptName is status_<service>_<FTPTransactionID>_<code>.xml; the transaction id is the uploaded name.
func ReceiptName(service, uploaded string, code int) string {
	return fmt.Sprintf("status_%s_%s_%d.xml", service, uploaded, code)
}

// ReplyName is the name of a backend's reply file in /out. ASSUMED form.
func ReplyName(service, uploaded string) string {
	return fmt.Sprintf("reply_%s_%s.xml", service, uploaded)
}

// RenderReceipt builds a status file as the rules say: with SKAT's rules exactly as
// published (element names and order).
func RenderReceipt(d Delivery, code int, at time.Time, statusText string, rerr *ReceiptError, replyName string, rules ReceiptRules) []byte {
	if statusText == "" {
		statusText = statusTexts[code]
	}
	f := statusFile{
		Filename: d.Name, FTPTransaktionsId: d.Name, SKATTransactionId: d.SkatID,
		Timestamp: at.In(copenhagen).Format("20060102150405"), StatusCode: statusText, Service: d.Service, Error: rerr,
	}
	if replyName != "" {
		f.Response = &responseXML{Filename: replyName}
	}
	out, err := xml.MarshalIndent(statusXML{File: f}, "", "  ")
	if err != nil {
		panic(err) // only strings: cannot fail
	}
	if el := rules.TransactionIDElement; el != "" && el != PublishedTransactionIDElement {
		out = bytes.ReplaceAll(out, []byte(PublishedTransactionIDElement+">"), []byte(el+">"))
	}
	return append([]byte(xml.Header), append(out, '\n')...)
}

type replyXML struct {
	XMLName           xml.Name `xml:"reply"`
	Filename          string   `xml:"filename"`
	SKATTransactionId string   `xml:"SKATTransactionId"`
	Service           string   `xml:"service"`
	Message           string   `xml:"message"`
}

// RenderReply builds the simulated backend's reply file.
func RenderReply(d Delivery) []byte {
	out, _ := xml.MarshalIndent(replyXML{Filename: d.Name, SKATTransactionId: d.SkatID, Service: d.Service,
		Message: "Reply from the ftpsgw simulated backend (TEST)"}, "", "  ")
	return append([]byte(xml.Header), append(out, '\n')...)
}
