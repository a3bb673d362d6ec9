package simulator

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
)

// The simulated backend: the settings of the embedded one (BackendSettings, a ServiceRule
// per service with its published presets) and its judgement of a delivered file
// (evaluateRule: ASCII mode, record length, and the start and end records of fixed-record
// ("Classic") files: one record per line, a start record 0001 first, an end record 9998 last
// whose ANTAL INDIVIDER counts the records (docs/GATEWAY.md §6)). The embedded backend
// (backend.go) and `ftpsgw backend` (services.go) both answer with it.

// BackendSettings configure delivery to the backend systems.
type BackendSettings struct {
	// URL of an `ftpsgw backend` process (http://host:port); empty: the embedded backend.
	// With a URL, the rules below are that process's business (PUT /control/v1/backend
	// forwards them), and a request that fails or times out counts as the link being down.
	URL string `yaml:"url"`
	// Timeout bounds each request to the backend process.
	Timeout Duration `yaml:"timeout"`
	// Up is the link's state at start (the control API changes it at run time).
	Up bool `yaml:"up"`
	// Outages are scheduled windows in which the link is down, on the gateway's clock.
	Outages []Outage `yaml:"outages"`
	// DeliverDelay is the time from an accepted upload to its delivery (receipt _1).
	DeliverDelay Duration `yaml:"deliver_delay"`
	// RetryMin and RetryMax bound the exponential back-off while the link is down.
	RetryMin Duration `yaml:"retry_min"`
	RetryMax Duration `yaml:"retry_max"`
	// Default applies to every service without its own rule.
	Default ServiceRule `yaml:"default"`
	// Services holds per-service rules, by folder name.
	Services map[string]ServiceRule `yaml:"services"`
}

// Outage is a window [From, To) in which the backend link is down.
type Outage struct {
	From time.Time `yaml:"from"`
	To   time.Time `yaml:"to"`
}

// ServiceRule says how the backend answers uploads to one service.
type ServiceRule struct {
	// Action: "accept" (receipt _2) or "reject" (receipt _0 with ErrorCode).
	Action string `yaml:"action" json:"action"`
	// ErrorCode and ErrorMessage of a rejection.
	ErrorCode    string `yaml:"error_code" json:"error_code,omitempty"`
	ErrorMessage string `yaml:"error_message" json:"error_message,omitempty"`
	// Delay is the processing time from delivery (_1) to the answer (_2 or _0).
	Delay Duration `yaml:"delay" json:"delay"`
	// RequireASCII: a file not uploaded with TYPE A gets _0 FILE_NOT_UPLOADED_IN_ASCII_MODE.
	RequireASCII bool `yaml:"require_ascii" json:"require_ascii,omitempty"`
	// RecordLength > 0: every line must be this long, else _0 RECORD_LENGTH_INCORRECT.
	RecordLength int `yaml:"record_length" json:"record_length,omitempty"`
	// FixedRecord: the first record is the start record 0001 (else FIRST_RECORD_INCORRECT),
	// the last the end record 9998 whose ANTAL INDIVIDER counts every record, start and end
	// included, filler (blank) records not (else LAST_RECORD_INCORRECT) (docs/GATEWAY.md §6).
	// Where the count stands in the end record is not published: columns 5-13 (ASSUMED).
	FixedRecord bool `yaml:"fixed_record" json:"fixed_record,omitempty"`
	// Preset is a published area: akfa (230 characters), cps (868) or ifpa (1,346): the record
	// length, fixed_record and require_ascii in one.
	Preset string `yaml:"preset" json:"preset,omitempty"`
	// Lists: "" (status 3 brings a reply file), "errors" (an error list, text in the record
	// structure, with its _3) or "errors+advice" (also an advice list with a second _3), as
	// SKAT's "en eller to filer med Status 3". Implies reply.
	Lists string `yaml:"lists" json:"lists,omitempty"`
	// Reply: after _2, put a reply file in /out and send _3 ("File exposed") after ExposeDelay.
	Reply       bool     `yaml:"reply" json:"reply,omitempty"`
	ExposeDelay Duration `yaml:"expose_delay" json:"expose_delay,omitempty"`
}

// Rule returns the backend rule of a service.
func (b BackendSettings) Rule(service string) ServiceRule {
	if r, ok := b.Services[service]; ok {
		return r
	}
	return b.Default
}

func validateRule(name string, r ServiceRule) error {
	switch {
	case r.Action != ActionAccept && r.Action != ActionReject:
		return fmt.Errorf("%s.action %q: must be accept or reject", name, r.Action)
	case r.Action == ActionReject && r.ErrorCode == "":
		return fmt.Errorf("%s: a reject rule needs error_code", name)
	case r.Delay < 0 || r.ExposeDelay < 0 || r.RecordLength < 0:
		return fmt.Errorf("%s: delays and record_length cannot be negative", name)
	case r.Lists != "" && r.Lists != ListsErrors && r.Lists != ListsWithAdvice:
		return fmt.Errorf("%s.lists %q: use errors or errors+advice", name, r.Lists)
	case r.Preset != "" && recordPresets[r.Preset] == 0:
		return fmt.Errorf("%s.preset %q: use akfa, cps or ifpa", name, r.Preset)
	}
	return nil
}

// recordPresets are the published record lengths of fixed-record areas (docs/GATEWAY.md §6):
// AKFA 230 (info.skat.dk oid=2287200), CPS 868 (oid=2288339), IFPA 1,346 (oid=2296421).
var recordPresets = map[string]int{"akfa": 230, "cps": 868, "ifpa": 1346}

// The lists a status 3 can bring.
const (
	ListsErrors     = "errors"
	ListsWithAdvice = "errors+advice"
)

// effective is the rule with its preset applied.
func (r ServiceRule) effective() ServiceRule {
	if r.Lists != "" {
		r.Reply = true
	}
	if n := recordPresets[r.Preset]; n > 0 {
		if r.RecordLength == 0 {
			r.RecordLength = n
		}
		r.FixedRecord, r.RequireASCII = true, true
	}
	return r
}

const (
	startRecord = "0001"
	endRecord   = "9998"
	// countFrom, countTo: the columns (1-based, inclusive) of ANTAL INDIVIDER in the end
	// record. Not published: ASSUMED, as the first field after the record type.
	countFrom, countTo = 5, 13
)

// checkRecords reads a fixed-record file and gives the first published error it finds: the
// start record, each record's length, the end record and its count.
func checkRecords(rule ServiceRule, r io.Reader) *receipt.Error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var last string
	n, counted := 0, 0
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		n++
		if n == 1 && rule.FixedRecord && !strings.HasPrefix(line, startRecord) {
			return recordError(receipt.ErrCodeFirstRecord, fmt.Sprintf("The first record begins %q, not with the start record %s.", prefix(line), startRecord),
				fmt.Sprintf("første record begynder med %q, ikke med startindividet %s", prefix(line), startRecord))
		}
		if rule.RecordLength > 0 && len(line) != rule.RecordLength {
			return recordError(receipt.ErrCodeRecordLength, fmt.Sprintf("Record %d is %d characters long; the format requires %d.", n, len(line), rule.RecordLength),
				fmt.Sprintf("record %d har %d tegn; formatet kræver %d", n, len(line), rule.RecordLength))
		}
		if strings.TrimSpace(line) != "" {
			counted++ // filler (blank) records are not counted
		}
		last = line
	}
	if sc.Err() != nil {
		return recordError(receipt.ErrCodeRecordLength, fmt.Sprintf("A record is longer than %d bytes.", 16<<20), fmt.Sprintf("en record er længere end %d byte", 16<<20))
	}
	if !rule.FixedRecord {
		return nil
	}
	if n == 0 {
		return recordError(receipt.ErrCodeFirstRecord, "The file is empty: it has no start record "+startRecord+".", "filen er tom: der er intet startindivid "+startRecord)
	}
	if !strings.HasPrefix(last, endRecord) {
		return recordError(receipt.ErrCodeLastRecord, fmt.Sprintf("The last record begins %q, not with the end record %s.", prefix(last), endRecord),
			fmt.Sprintf("sidste record begynder med %q, ikke med slutindividet %s", prefix(last), endRecord))
	}
	field := ""
	if len(last) >= countTo {
		field = strings.TrimSpace(last[countFrom-1 : countTo])
	}
	if got, err := strconv.Atoi(field); err != nil || got != counted {
		return recordError(receipt.ErrCodeLastRecord, fmt.Sprintf("The end record counts %q records (columns %d-%d); the file has %d.", field, countFrom, countTo, counted),
			fmt.Sprintf("slutindividet angiver %q individer (position %d-%d); filen har %d", field, countFrom, countTo, counted))
	}
	return nil
}

func recordError(code, message, detailDa string) *receipt.Error {
	e := receipt.ErrorTexts[code]
	e.Message, e.DetailDa = message, detailDa
	return &e
}

func prefix(line string) string {
	if len(line) > 4 {
		return line[:4]
	}
	return line
}

// evaluateRule applies a backend rule to a file; nil means accepted. The embedded backend
// and `ftpsgw backend` answer by this one function.
func evaluateRule(rule ServiceRule, service string, ascii bool, open func() (io.ReadCloser, error)) *receipt.Error {
	rule = rule.effective()
	if service == heartbeatService {
		return nil
	}
	if rule.Action == ActionReject {
		return &receipt.Error{Code: rule.ErrorCode, Message: rule.ErrorMessage, Resolution: "Correct the file and upload it under a new name."}
	}
	if rule.RequireASCII && !ascii {
		e := receipt.ErrorTexts[receipt.ErrCodeNotASCII]
		return &e
	}
	if rule.RecordLength > 0 || rule.FixedRecord {
		f, err := open()
		if err != nil {
			e := receipt.ErrorTexts[receipt.ErrCodeInternal]
			return &e
		}
		defer f.Close()
		return checkRecords(rule, f)
	}
	return nil
}
