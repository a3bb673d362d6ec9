package simulator

import (
	"bufio"
	"fmt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"io"
	"strconv"
	"strings"
)

// Fixed-record ("Classic") files: one record per line, a start record 0001 first, an end
// record 9998 last whose ANTAL INDIVIDER counts the records (docs/GATEWAY.md §6).

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
