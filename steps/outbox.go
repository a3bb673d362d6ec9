package steps

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
	"github.com/ftpsgw/ftpsgw/steps/statusfile"
)

// listOut lists an identity's /out over FTPS.
func (w *World) listOut(who string) ([]string, error) {
	c, err := w.login(who)
	if err != nil {
		return nil, err
	}
	names, err := listNames(c, "/out")
	if err != nil {
		return nil, fmt.Errorf("LIST /out as %s: %w", who, err)
	}
	return names, nil
}

// listNames lists a folder's entries by name, without the folder's own path and without the
// "." and ".." entries (RFC 3659's type=cdir and type=pdir, which MLSD listings carry).
func listNames(c *ftpsclient.Client, dir string) ([]string, error) {
	entries, err := c.List(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if name, ok := entryName(dir, e.Name); ok {
			out = append(out, name)
		}
	}
	return out, nil
}

// entryName is a listed entry's name relative to dir; false for "." and ".." (and paths
// ending in them).
func entryName(dir, listed string) (string, bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(listed, dir), "/")
	if b := path.Base(name); name == "" || b == "." || b == ".." {
		return "", false
	}
	return name, true
}

// receiptsFor returns the names in list that are receipts of a file.
func receiptsFor(list []string, f upFile) []string {
	var out []string
	for _, n := range list {
		if strings.HasPrefix(n, "status_") && strings.Contains(n, "_"+f.name+"_") {
			out = append(out, n)
		}
	}
	return out
}

// waitReceipts waits until the owner's /out holds receipts with every code for the file,
// downloads them into w.receipts, and fails with what it saw at the deadline. On a target
// with a virtual clock the clock is moved forward while waiting (1 s per poll, at most 10
// minutes of gateway time): receipts come from the gateway's timers.
func (w *World) waitReceipts(f upFile, codes ...int) error {
	if !w.suite.profile.Receipts() {
		return w.unsupportedf("the profile says the target writes no receipts (capabilities.receipts: false)")
	}
	deadline := time.Now().Add(time.Duration(w.suite.profile.Timeouts.Receipt))
	var virtualSpent time.Duration
	for {
		list, err := w.listOut(f.who)
		if err != nil {
			return err
		}
		have := true
		for _, code := range codes {
			if !slices.Contains(list, statusfile.Name(f.service, f.name, code)) {
				have = false
			}
		}
		if have {
			got, fresh, err := w.downloadReceipts(f, codes)
			if err != nil {
				return err
			}
			if fresh {
				for code, data := range got {
					w.receipts[code] = data
					w.note("receipt %s:\n%s", statusfile.Name(f.service, f.name, code), strings.TrimSpace(data))
				}
				return nil
			}
		}
		if time.Now().After(deadline) || virtualSpent >= 10*time.Minute {
			came := receiptsFor(list, f)
			err := expected(fmt.Sprintf("receipts %v for %s in the /out of %s", codes, f.name, f.who),
				"%v after waiting %s (and %s of gateway time)", came, time.Duration(w.suite.profile.Timeouts.Receipt), virtualSpent)
			if receiptPathWorked(codes, came) {
				// Other receipts of this very file came: the receipt path works for it, so the
				// missing status_0 is this scenario's own evidence (a name rule broken), not
				// something GW-STAT-02 must judge first.
				return err
			}
			// Whether receipts come at all is GW-STAT-02's to judge. Where it passes, a missing
			// receipt is the scenario's own failure (Verdicts); where it does not, nothing can
			// be told from a receipt that did not come.
			return blockedBy(reqReceipts, err)
		}
		if w.suite.virtual {
			if err := w.suite.state.Advance(w.ctx, time.Second); err != nil {
				return w.stateErr(err)
			}
			virtualSpent += time.Second
		} else {
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// receiptPathWorked: the receipts awaited include a status_0 and the file got other receipts
// (1, 2 or 3): the gateway's receipt path worked for it, so only the status_0 is missing.
// Receipts 1 and 2 themselves missing are GW-STAT-02's to judge.
func receiptPathWorked(awaited []int, came []string) bool {
	return slices.Contains(awaited, 0) && len(came) > 0
}

// downloadReceipts fetches the receipts with these codes for f; fresh is false while one of
// them is still the receipt an earlier upload of the same name got (f.stale).
func (w *World) downloadReceipts(f upFile, codes []int) (map[int]string, bool, error) {
	c, err := w.login(f.who)
	if err != nil {
		return nil, false, err
	}
	got := map[int]string{}
	fresh := true
	for _, code := range codes {
		name := statusfile.Name(f.service, f.name, code)
		data, err := c.Download("/out/" + name)
		if err != nil {
			return nil, false, fmt.Errorf("RETR /out/%s as %s: %w", name, f.who, err)
		}
		got[code] = string(data)
		if old, ok := f.stale[code]; ok && old == string(data) {
			fresh = false
		}
	}
	return got, fresh, nil
}
