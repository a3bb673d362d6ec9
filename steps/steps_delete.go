package steps

import (
	"slices"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/steps/statusfile"
)

// deleteSteps: deleting receipts from /out (features/out.feature, GW-OUT-02). SKAT recommends
// that clients delete their receipts once checked; nobody deletes another certificate's.
type deleteSteps struct {
	*World
	deleted deleteResult // the last DELE in /out
}

func (x *deleteSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" deletes that receipt from its /out$`, x.deleteReceipt)
	sc.Step(`^"([^"]*)" tries to delete that receipt$`, x.deleteReceipt)
	sc.Step(`^the deletion is (accepted|refused)$`, x.deletion)
	sc.Step(`^that receipt is (still in|gone from) the /out of "([^"]*)"$`, x.receiptStillOrGone)
}

// deleteReceipt sends DELE for receipt 1 of the last upload as who.
func (x *deleteSteps) deleteReceipt(who string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	c, err := x.login(who)
	if err != nil {
		return err
	}
	name := "/out/" + statusfile.Name(f.service, f.name, 1)
	x.deleted = deleteResult{done: true, path: name, err: c.Delete(name)}
	x.note("DELE %s as %s: %s", name, who, errText(x.deleted.err))
	return nil
}

func (x *deleteSteps) deletion(outcome string) error {
	d := x.deleted
	switch {
	case !d.done:
		return expected("a deletion to judge", "none was tried")
	case outcome == "accepted" && d.err != nil:
		return expected("250 for DELE "+d.path, "%v", d.err)
	case outcome == "refused" && d.err == nil:
		return expected("DELE "+d.path+" refused", "250: it was deleted")
	}
	return nil
}

func (x *deleteSteps) receiptStillOrGone(state, who string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	if _, err := x.fresh(who); err != nil {
		return err
	}
	list, err := x.listOut(who)
	if err != nil {
		return err
	}
	name := statusfile.Name(f.service, f.name, 1)
	if present := slices.Contains(list, name); present != (state == "still in") {
		return expected(name+" "+state+" the /out of "+who, "%v", list)
	}
	return nil
}
