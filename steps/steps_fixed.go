package steps

import (
	"fmt"
	"strings"

	"github.com/cucumber/godog"
	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/steps/statusfile"
)

// fixedSteps: fixed-record ("Classic") files and the codes SKAT publishes for them
// (features/receipts.feature, GW-STAT-04; docs/GATEWAY.md §6).
type fixedSteps struct{ *World }

// publishedDescriptions are SKAT's Danish descriptions of the error codes (info.skat.dk
// oid=2297137), which Error.message begins with.
var publishedDescriptions = map[string]string{
	"FILE_NOT_UPLOADED_IN_ASCII_MODE": "Der er ikke valgt Ascii som Transfer mode i FTPs klienten",
	"RECORD_LENGTH_INCORRECT":         "Længden for de enkelte records i filen er ikke korrekt",
	"FIRST_RECORD_INCORRECT":          "Startindividet i første record i filen overholder ikke individstrukturen",
	"LAST_RECORD_INCORRECT":           "Slutindividet i sidste record i filen, overholder ikke individstrukturen",
}

const fixedFaults = `(whole|without its start record|with a short record|without its end record|with a wrong record count|in binary mode)`

func (x *fixedSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^the backend checks "([^"]*)" as a fixed-record service with records of (\d+) characters$`, x.backendChecks)
	sc.Step(`^"([^"]*)" has uploaded a fixed-record file of (\d+)-character records to "([^"]*)" `+fixedFaults+`$`, x.uploadFixed)
	sc.Step(`^receipt 0 describes "([^"]*)" in SKAT's published Danish words$`, x.describedInDanish)
	sc.Step(`^receipt 0 names the fixed-record fault "([^"]*)"$`, x.namesFault)
	sc.Step(`^the backend answers files in "([^"]*)" with an error list and an advice list$`, x.backendLists)
	sc.Step(`^"([^"]*)" finds (\d+) receipts 3 for it in /out, each naming a file it can download$`, x.findsReceipts3)
}

func (x *fixedSteps) backendLists(service string) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	return x.stateErr(st.ListFiles(x.ctx, service))
}

// findsReceipts3 reads every status file in who's /out that names the last upload and counts
// those that are a receipt 3 ("File exposed") for it: how a second _3 is named is not
// published, so the content decides, not the name. Each must name a file that downloads.
func (x *fixedSteps) findsReceipts3(who string, n int) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	c, err := x.login(who)
	if err != nil {
		return err
	}
	list, err := x.listOut(who)
	if err != nil {
		return err
	}
	var found []string
	for _, name := range list {
		if !strings.HasSuffix(name, ".xml") || !strings.Contains(name, f.name) {
			continue
		}
		data, err := c.Download("/out/" + name)
		if err != nil {
			return fmt.Errorf("RETR /out/%s: %w", name, err)
		}
		sf, err := statusfile.Parse(string(data))
		// for this upload by its path or its id (the element's spelling is GW-STAT-01's to judge)
		mine := strings.HasSuffix(sf.Text["status/file/filename"], "/"+f.name) || sf.Text["status/file/filename"] == f.name ||
			sf.Text["status/file/FTPTransaktionsId"] == f.name
		if err != nil || !mine || sf.Text["status/file/status.code"] != "File exposed" {
			continue
		}
		if sf.Response == "" {
			return expected(name+" to name the file it exposes (Response/Filename)", "none")
		}
		if _, err := c.Download("/out/" + sf.Response); err != nil {
			return expected(name+"'s file "+sf.Response+" downloadable from /out", "%v", err)
		}
		found = append(found, name+" -> "+sf.Response)
	}
	x.note("receipts 3 for %s: %v", f.name, found)
	if len(found) != n {
		return expected(fmt.Sprintf("%d receipts 3 for %s", n, f.name), "%d: %v (in %v)", len(found), found, list)
	}
	return nil
}

func (x *fixedSteps) backendChecks(service string, length int) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	return x.stateErr(st.CheckFixedRecords(x.ctx, service, length))
}

// fixedRecordFile is a file of width-character records: the start record 0001, three data
// records, the end record 9998 with ANTAL INDIVIDER (all five records) in columns 5-13, broken
// as fault says.
func fixedRecordFile(width int, fault string) []byte {
	pad := func(s string) string { return s + strings.Repeat(" ", max(0, width-len(s))) }
	start, end := "0001", "9998"
	count := 5
	switch fault {
	case "without its start record":
		start = "2260"
	case "without its end record":
		end = "2260"
	case "with a wrong record count":
		count = 4
	}
	lines := []string{pad(start + "START")}
	for i := range 3 {
		lines = append(lines, pad(fmt.Sprintf("2260DATA%04d", i)))
	}
	lines = append(lines, pad(fmt.Sprintf("%s%09d", end, count)))
	if fault == "with a short record" {
		lines[2] = strings.TrimRight(lines[2], " ")
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func (x *fixedSteps) uploadFixed(who string, width int, service, fault string) error {
	c, err := x.login(who)
	if err != nil {
		return err
	}
	mode := ftp.TransferTypeASCII
	if fault == "in binary mode" {
		mode = ftp.TransferTypeBinary
	}
	if err := c.Type(mode); err != nil {
		return fmt.Errorf("TYPE: %w", err)
	}
	defer c.Type(ftp.TransferTypeBinary)
	name := x.newName("")
	err = c.Upload("/"+service+"/"+name, fixedRecordFile(width, fault))
	x.upload = uploadResult{err: err}
	x.files = append(x.files, upFile{who: who, service: service, name: name, err: err})
	x.receipts = map[int]string{}
	x.note("STOR /%s/%s as %s, a fixed-record file %s: %s", service, name, who, fault, errText(err))
	if err != nil {
		return expected("226 for the upload (the backend judges the file, in a receipt)", "%v", err)
	}
	return nil
}

// receipt0WithError parses receipt 0; one without an Error code at all breaks GW-STAT-02's
// rule (a rejected file's status_0 carries its code), so the scenario is BLOCKED by it.
func (x *fixedSteps) receipt0WithError() (statusfile.File, error) {
	sf, err := statusfile.Parse(x.receipts[0])
	if err != nil {
		return sf, err
	}
	if sf.ErrorCode == "" {
		return sf, blockedBy(reqReceipts, expected("a status_0 with an Error code", "none: a status_0 without its Error element is GW-STAT-02's to judge"))
	}
	return sf, nil
}

func (x *fixedSteps) namesFault(code string) error {
	sf, err := x.receipt0WithError()
	if err != nil {
		return err
	}
	if sf.ErrorCode != code {
		return expected("Error.code "+code, "%q", sf.ErrorCode)
	}
	return nil
}

func (x *fixedSteps) describedInDanish(code string) error {
	sf, err := x.receipt0WithError()
	if err != nil {
		return err
	}
	want := publishedDescriptions[code]
	if got := sf.Text["status/file/Error/Error.message"]; want == "" || !strings.HasPrefix(got, want) {
		return expected(fmt.Sprintf("Error.message beginning %q (info.skat.dk oid=2297137)", want), "%q", got)
	}
	return nil
}
