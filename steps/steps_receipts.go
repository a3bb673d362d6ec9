package steps

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
	"github.com/ftpsgw/ftpsgw/steps/statusfile"
)

// receiptSteps: status files in /out, their names, contents, privacy and lifetime
// (features/receipts.feature, out.feature, names.feature, backend.feature).
type receiptSteps struct{ *World }

// receiptCodes matches "1", "1 and 2", "1, 2 and 3".
const receiptCodes = `([0-3](?:(?:, | and )[0-3])*)`

func (x *receiptSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" (?:receives|has received) receipts? `+receiptCodes+` for it$`, x.receives)
	sc.Step(`^each of them receives receipts `+receiptCodes+`$`, x.eachReceives)
	sc.Step(`^every receipt for it is named status_<service>_<file>_<code>\.xml$`, x.everyReceiptNamed)
	sc.Step(`^every receipt for it carries the published XML elements$`, x.everyReceiptPublished)
	sc.Step(`^receipt 1 is not later than receipt 2$`, x.receipt1NotLater)
	sc.Step(`^no receipt 0 came for it$`, x.noReceipt0)
	sc.Step(`^no receipt has arrived for (?:it|them)$`, x.noReceiptYet)
	sc.Step(`^receipt 0 carries the error code "([^"]*)"$`, x.receipt0ErrorCode)
	sc.Step(`^receipt 3 names a reply file that "([^"]*)" can download from /out$`, x.receipt3NamesReply)
	sc.Step(`^"([^"]*)" does not see that receipt in its /out$`, x.doesNotSeeReceipt)
	sc.Step(`^"([^"]*)" cannot download that receipt$`, x.cannotDownloadReceipt)
	sc.Step(`^the receipts for it are (still in|gone from) the /out of "([^"]*)"$`, x.receiptsStillOrGone)
	sc.Step(`^that submission is rejected as FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION$`, x.rejectedAsReused)
	sc.Step(`^that submission is rejected$`, x.rejectedAny)
	sc.Step(`^their receipts 1 came in upload order$`, x.receiptOrder)
}

func (x *receiptSteps) receives(who, list string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	return x.waitReceipts(f, parseCodes(list)...)
}

func (x *receiptSteps) eachReceives(list string) error {
	for _, f := range x.files {
		if err := x.waitReceipts(f, parseCodes(list)...); err != nil {
			return err
		}
	}
	return nil
}

func (x *receiptSteps) everyReceiptNamed() error {
	f, _ := x.lastFile()
	list, err := x.listOut(f.who)
	if err != nil {
		return err
	}
	re := regexp.MustCompile(`^status_` + regexp.QuoteMeta(f.service) + `_` + regexp.QuoteMeta(f.name) + `_[0-3]\.xml$`)
	found := 0
	for _, n := range list {
		if strings.Contains(n, f.name) {
			found++
			if !re.MatchString(n) {
				return expected(fmt.Sprintf("status_%s_%s_<code>.xml", f.service, f.name), "%q in /out", n)
			}
		}
	}
	if found == 0 {
		return expected("receipts for "+f.name, "none in /out")
	}
	return nil
}

func (x *receiptSteps) everyReceiptPublished() error {
	f, _ := x.lastFile()
	id, err := x.Identity(f.who)
	if err != nil {
		return err
	}
	for code, content := range x.receipts {
		if err := statusfile.Check(content, f.service, f.name, id.Username); err != nil {
			return fmt.Errorf("receipt %d: %w", code, err)
		}
	}
	return nil
}

func (x *receiptSteps) receipt1NotLater() error {
	a, err1 := statusfile.Parse(x.receipts[1])
	b, err2 := statusfile.Parse(x.receipts[2])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	t1, t2 := a.Text["status/file/timestamp"], b.Text["status/file/timestamp"]
	if t1 > t2 {
		return expected("receipt 1's timestamp <= receipt 2's", "%s > %s", t1, t2)
	}
	return nil
}

func (x *receiptSteps) noReceipt0() error {
	f, _ := x.lastFile()
	list, err := x.listOut(f.who)
	if err != nil {
		return err
	}
	if slices.Contains(list, statusfile.Name(f.service, f.name, 0)) {
		return expected("no status_0 for "+f.name, "%s in /out", statusfile.Name(f.service, f.name, 0))
	}
	return nil
}

func (x *receiptSteps) noReceiptYet() error {
	for _, f := range x.files {
		list, err := x.listOut(f.who)
		if err != nil {
			return err
		}
		if got := receiptsFor(list, f); len(got) > 0 {
			return expected("no receipt yet for "+f.name, "%v", got)
		}
	}
	return nil
}

func (x *receiptSteps) receipt0ErrorCode(code string) error {
	sf, err := statusfile.Parse(x.receipts[0])
	if err != nil {
		return err
	}
	if sf.ErrorCode != code {
		return expected("Error.code "+code, "%q", sf.ErrorCode)
	}
	return nil
}

func (x *receiptSteps) receipt3NamesReply(who string) error {
	sf, err := statusfile.Parse(x.receipts[3])
	if err != nil {
		return err
	}
	if sf.Response == "" {
		return expected("Response/Filename in receipt 3", "none")
	}
	c, err := x.login(who)
	if err != nil {
		return err
	}
	if _, err := c.Download("/out/" + sf.Response); err != nil {
		return expected("the reply file /out/"+sf.Response, "%v", err)
	}
	return nil
}

func (x *receiptSteps) doesNotSeeReceipt(who string) error {
	f, _ := x.lastFile()
	list, err := x.listOut(who)
	if err != nil {
		return err
	}
	if got := receiptsFor(list, f); len(got) > 0 {
		return expected(who+" to see none of "+f.who+"'s receipts", "%v in its /out", got)
	}
	return nil
}

func (x *receiptSteps) cannotDownloadReceipt(who string) error {
	f, _ := x.lastFile()
	c, err := x.login(who)
	if err != nil {
		return err
	}
	name := statusfile.Name(f.service, f.name, 1)
	if data, err := c.Download("/out/" + name); err == nil {
		return expected(who+" to be refused RETR /out/"+name, "%d bytes", len(data))
	}
	return nil
}

func (x *receiptSteps) receiptsStillOrGone(state, who string) error {
	f, _ := x.lastFile()
	if _, err := x.fresh(who); err != nil {
		return err
	}
	list, err := x.listOut(who)
	if err != nil {
		return err
	}
	got := receiptsFor(list, f)
	if (state == "still in") != (len(got) > 0) {
		return expected("the receipts "+state+" /out", "%v", got)
	}
	return nil
}

func (x *receiptSteps) rejectedAsReused() error {
	return x.rejected("FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION")
}

func (x *receiptSteps) rejectedAny() error { return x.rejected("") }

// rejected passes when the last upload was refused at once (4xx/5xx), or a status_0 for
// it arrives (with the given error code, when one is given). A missing status_0 is never
// taken for success.
func (x *receiptSteps) rejected(code string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	if f.err != nil {
		if c := ftpsclient.Code(f.err); isRefused(c) {
			if code != "" && !strings.Contains(f.err.Error(), code) {
				x.note("refused at once without naming %s: %v (accepted as a rejection)", code, f.err)
			}
			return nil
		}
		return expected("a 4xx/5xx refusal or a status_0", "%v", f.err)
	}
	if err := x.waitReceipts(f, 0); err != nil {
		return fmt.Errorf("the upload was accepted (226), so a status_0 must follow: %w", err)
	}
	if code == "" {
		return nil
	}
	sf, err := statusfile.Parse(x.receipts[0])
	if err != nil {
		return err
	}
	if sf.ErrorCode != code {
		return expected("Error.code "+code, "%q", sf.ErrorCode)
	}
	return nil
}

// receiptOrder checks that receipts 1 of the uploaded files came in upload order: by the
// gateway's journal when the target has a control API, else by their timestamps.
func (x *receiptSteps) receiptOrder() error {
	if x.suite.api != nil {
		j, err := x.suite.api.Journal(x.ctx, control.JournalQuery{Types: []control.EventType{control.EventReceipt}})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range j.Events {
			for _, f := range x.files {
				if strings.HasSuffix(e.Path, "/"+statusfile.Name(f.service, f.name, 1)) {
					seen = append(seen, f.name)
				}
			}
		}
		var want []string
		for _, f := range x.files {
			want = append(want, f.name)
		}
		if !slices.Equal(seen, want) {
			return expected(fmt.Sprint(want), "receipts 1 in the order %v", seen)
		}
		return nil
	}
	prev := ""
	for _, f := range x.files {
		c, err := x.login(f.who)
		if err != nil {
			return err
		}
		data, err := c.Download("/out/" + statusfile.Name(f.service, f.name, 1))
		if err != nil {
			return err
		}
		sf, err := statusfile.Parse(string(data))
		if err != nil {
			return err
		}
		ts := sf.Text["status/file/timestamp"]
		if ts < prev {
			return expected("timestamps of receipts 1 in upload order", "%s after %s", ts, prev)
		}
		prev = ts
	}
	return nil
}
