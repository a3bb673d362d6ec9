// Package receipt renders status files (receipts) and reply files as SKAT publishes them.
package receipt

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // the receipt timestamp is Danish time, also in a FROM scratch image

	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// Receipt codes (docs/GATEWAY.md §6).
const (
	CodeError     = 0
	CodeDelivered = 1
	CodeAccepted  = 2
	CodeExposed   = 3
	CodeReply     = -1 // outbox rows of reply files
)

// statusTexts are the status.code texts. Codes 1-3 are as published; the text for 0 is ASSUMED.
var statusTexts = map[int]string{
	CodeError:     "File rejected",
	CodeDelivered: "File delivered to requested Backend System",
	CodeAccepted:  "File Accepted",
	CodeExposed:   "File exposed",
}

// PublishedTransactionIDElement is the receipt element name SKAT publishes (spelling as is).
const PublishedTransactionIDElement = "FTPTransaktionsId"

// Error codes (docs/GATEWAY.md §6).
const (
	ErrCodeNameReused   = "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION"
	ErrCodeNotASCII     = "FILE_NOT_UPLOADED_IN_ASCII_MODE"
	ErrCodeRecordLength = "RECORD_LENGTH_INCORRECT"
	ErrCodeFirstRecord  = "FIRST_RECORD_INCORRECT"
	ErrCodeLastRecord   = "LAST_RECORD_INCORRECT"
	ErrCodeBackendDown  = "Backend System not available"
	ErrCodeInternal     = "Internal server error"
)

// Error is the Error element of a status_0 receipt. DetailDa is the same detail as the
// English Message's, in Danish, for Localize.
type Error struct {
	Code       string `xml:"Error.code"`
	Message    string `xml:"Error.message"`
	Resolution string `xml:"Error.resolution"`
	DetailDa   string `xml:"-" json:"detail_da,omitempty"`
}

// The receipt languages: Danish as SKAT publishes its error descriptions, or English.
const (
	LanguageDanish  = "da"
	LanguageEnglish = "en"
)

// danishTexts are the Error elements in Danish. Error.message is SKAT's published description
// where SKAT publishes one (info.skat.dk oid=2297137: ASCII mode, record length, first and last
// record); the other messages and every resolution are ftpsgw's wording (ASSUMED).
var danishTexts = map[string]Error{
	ErrCodeNameReused: {ErrCodeNameReused, "Filnavnet er indsendt før; et filnavn kan kun bruges én gang.",
		"Indsend filen igen under et nyt, unikt navn.", ""},
	ErrCodeNotASCII: {ErrCodeNotASCII, "Der er ikke valgt Ascii som Transfer mode i FTPs klienten",
		"Indsend filen igen i ASCII-mode (TYPE A) under et nyt navn.", ""},
	ErrCodeRecordLength: {ErrCodeRecordLength, "Længden for de enkelte records i filen er ikke korrekt",
		"Ret længden af de records, der er forkerte, og indsend filen under et nyt navn.", ""},
	ErrCodeFirstRecord: {ErrCodeFirstRecord, "Startindividet i første record i filen overholder ikke individstrukturen",
		"Ret startindividet (0001) i første record, og indsend filen under et nyt navn.", ""},
	ErrCodeLastRecord: {ErrCodeLastRecord, "Slutindividet i sidste record i filen, overholder ikke individstrukturen",
		"Ret slutindividet (9998) og antallet af individer i sidste record, og indsend filen under et nyt navn.", ""},
	ErrCodeBackendDown: {ErrCodeBackendDown, "Backend-systemet er ikke tilgængeligt.", "Indsend filen igen.", ""},
	ErrCodeInternal:    {ErrCodeInternal, "Filen kunne ikke læses.", "Indsend filen igen under et nyt navn.", ""},
}

// Localize gives an Error in the receipt language: in Danish, SKAT's description of the code
// (with the Danish detail, when there is one); in English, as it is.
func Localize(e Error, language string) Error {
	d, ok := danishTexts[e.Code]
	if language != LanguageDanish || !ok {
		return e
	}
	if e.DetailDa != "" {
		d.Message += ": " + e.DetailDa
	}
	return d
}

// ErrorTexts are the Error elements of the codes the gateway and its backend give.
var ErrorTexts = map[string]Error{
	ErrCodeNameReused: {ErrCodeNameReused, "The file name has been submitted before; a name can be used only once.",
		"Upload the file again under a new, unique name.", ""},
	ErrCodeNotASCII: {ErrCodeNotASCII, "The file was not uploaded in ASCII mode.",
		"Upload the file again with TYPE A (ASCII mode) under a new name.", ""},
	ErrCodeRecordLength: {ErrCodeRecordLength, "A record does not have the length the format requires.",
		"Correct the record lengths and upload the file under a new name.", ""},
	ErrCodeBackendDown: {ErrCodeBackendDown, "The backend system is not available.", "Upload the file again.", ""},
	ErrCodeInternal:    {ErrCodeInternal, "The file could not be read.", "Upload the file again under a new name.", ""},
	ErrCodeFirstRecord: {ErrCodeFirstRecord, "The first record is not the start record (0001) of the record structure.",
		"Correct the start record and upload the file under a new name.", ""},
	ErrCodeLastRecord: {ErrCodeLastRecord, "The last record is not the end record (9998) of the record structure, or its record count is wrong.",
		"Correct the end record and its count of records, and upload the file under a new name.", ""},
}

type statusXML struct {
	XMLName xml.Name   `xml:"status"`
	File    statusFile `xml:"file"`
}

type statusFile struct {
	Filename          string       `xml:"filename"`
	FTPTransaktionsId string       `xml:"FTPTransaktionsId"`
	SKATTransactionId string       `xml:"SKATTransactionId"`
	Timestamp         string       `xml:"timestamp"`
	StatusCode        string       `xml:"status.code"`
	Service           string       `xml:"service"`
	Response          *responseXML `xml:"Response,omitempty"`
	Error             *Error       `xml:"Error,omitempty"`
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

// Name is status_<service>_<FTPTransactionID>_<code>.xml; the transaction id is the uploaded name.
func Name(service, uploaded string, code int) string {
	return fmt.Sprintf("status_%s_%s_%d.xml", service, uploaded, code)
}

// ReplyName is the name of a backend's reply file in /out. ASSUMED form.
func ReplyName(service, uploaded string) string {
	return fmt.Sprintf("reply_%s_%s.xml", service, uploaded)
}

// Render builds a status file: element names and order as published, the uploaded name in
// the element txElement (PublishedTransactionIDElement; another name only for a defect).
func Render(d store.Delivery, code int, at time.Time, statusText string, rerr *Error, replyName, txElement string) []byte {
	if statusText == "" {
		statusText = statusTexts[code]
	}
	f := statusFile{
		Filename: ServerPath(d.Username, d.Service, d.Name), FTPTransaktionsId: d.Name, SKATTransactionId: d.SkatID,
		Timestamp: at.In(copenhagen).Format("20060102150405"), StatusCode: statusText, Service: d.Service, Error: rerr,
	}
	if replyName != "" {
		f.Response = &responseXML{Filename: replyName}
	}
	out, err := xml.MarshalIndent(statusXML{File: f}, "", "  ")
	if err != nil {
		panic(err) // only strings: cannot fail
	}
	if el := txElement; el != "" && el != PublishedTransactionIDElement {
		out = bytes.ReplaceAll(out, []byte(PublishedTransactionIDElement+">"), []byte(el+">"))
	}
	return append([]byte(Declaration), append(out, '\n')...)
}

// Declaration is the XML declaration of SKAT's published example.
const Declaration = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>` + "\n"

// ServerPath is a file's path on the gateway as receipts name it:
// /CVR_<cvr>/<TYPE>_<id>/<service>/<name>, the username split after its CVR part
// (docs/GATEWAY.md §3, §6). A username of another form is kept whole.
func ServerPath(username, service, name string) string {
	owner := username
	if cvr, rest, ok := strings.Cut(strings.TrimPrefix(username, "CVR_"), "_"); ok && strings.HasPrefix(username, "CVR_") {
		owner = "CVR_" + cvr + "/" + rest
	}
	return "/" + owner + "/" + service + "/" + name
}

// NewTransactionID is a SKATTransactionId in the published shape, ci<epoch ms>_<digits>_<digits>
// (example ci1607607002916_31616756_1). The middle part is random, the last a sequence, so two
// ids made in one millisecond differ.
func NewTransactionID(now time.Time) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("ci%d_%08d_%d", now.UnixMilli(), n.Int64(), txSeq.Add(1))
}

var txSeq atomic.Int64

type replyXML struct {
	XMLName           xml.Name `xml:"reply"`
	Filename          string   `xml:"filename"`
	SKATTransactionId string   `xml:"SKATTransactionId"`
	Service           string   `xml:"service"`
	Message           string   `xml:"message"`
}

// RenderReply builds the simulated backend's reply file.
func RenderReply(d store.Delivery) []byte {
	out, _ := xml.MarshalIndent(replyXML{Filename: ServerPath(d.Username, d.Service, d.Name), SKATTransactionId: d.SkatID, Service: d.Service,
		Message: "Reply from the ftpsgw simulated backend (TEST)"}, "", "  ")
	return append([]byte(Declaration), append(out, '\n')...)
}

// ErrorListName and AdviceListName name the lists a status 3 can bring (ASSUMED: SKAT does
// not publish their names).
func ErrorListName(service, uploaded string) string {
	return fmt.Sprintf("fejlliste_%s_%s.txt", service, uploaded)
}

// AdviceListName names the advice list (ASSUMED).
func AdviceListName(service, uploaded string) string {
	return fmt.Sprintf("advisliste_%s_%s.txt", service, uploaded)
}

// DefaultSecondExposedName is the name of the second _3 of an upload (the advice list's):
// not published, so ASSUMED and configurable (second_status3_name).
const DefaultSecondExposedName = "status_{service}_{name}_3_2.xml"

// SecondExposedName fills a second_status3_name template.
func SecondExposedName(template, service, uploaded string) string {
	if template == "" {
		template = DefaultSecondExposedName
	}
	return strings.NewReplacer("{service}", service, "{name}", uploaded).Replace(template)
}

// RenderList builds a simulated error or advice list: text in the record structure of a
// fixed-record area (the start record 0001, one data record, the end record 9998 with the
// count), each record padded to the area's record length. The content is the simulated
// backend's (TEST), not SKAT's.
func RenderList(d store.Delivery, kind string, width int, at time.Time) []byte {
	text := "INGEN FEJL FUNDET (ftpsgw TEST)"
	if kind == "ADVISLISTE" {
		text = "SIMULERET ADVIS (ftpsgw TEST)"
	}
	records := []string{
		"0001" + kind + " " + d.Name + " " + at.In(copenhagen).Format("20060102150405"),
		"2000" + text,
		fmt.Sprintf("9998%09d", 3),
	}
	var b strings.Builder
	for _, r := range records {
		if width > len(r) {
			r += strings.Repeat(" ", width-len(r))
		}
		b.WriteString(r + "\r\n")
	}
	return []byte(b.String())
}
