package steps

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

func receiptName(service, file string, code int) string {
	return fmt.Sprintf("status_%s_%s_%d.xml", service, file, code)
}

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
			if !slices.Contains(list, receiptName(f.service, f.name, code)) {
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
					w.note("receipt %s:\n%s", receiptName(f.service, f.name, code), strings.TrimSpace(data))
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

// publishedOrder is the element order of a status file's <file>, as published; Response and
// Error are optional.
var publishedOrder = []string{"filename", "FTPTransaktionsId", "SKATTransactionId", "timestamp", "status.code", "service", "Response", "Error"}

var timestampRe = regexp.MustCompile(`^\d{14}$`)

type statusFile struct {
	elements  []string
	text      map[string]string
	errorCode string
	response  string
}

// parseReceipt reads a status file's <status><file> children in order.
func parseReceipt(content string) (statusFile, error) {
	sf := statusFile{text: map[string]string{}}
	dec := xml.NewDecoder(bytes.NewReader([]byte(content)))
	var path []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sf, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if len(path) == 3 && path[0] == "status" && path[1] == "file" {
				sf.elements = append(sf.elements, t.Name.Local)
			}
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) == 0 {
				continue
			}
			v := strings.TrimSpace(string(t))
			if v == "" {
				continue
			}
			key := strings.Join(path, "/")
			sf.text[key] += v
			switch key {
			case "status/file/Error/Error.code":
				sf.errorCode = v
			case "status/file/Response/Filename":
				sf.response = v
			}
		}
	}
	if len(sf.elements) == 0 {
		return sf, fmt.Errorf("no <status><file> element")
	}
	return sf, nil
}

// checkPublished checks a receipt against the published form.
func checkPublished(content string, f upFile, username string) error {
	if !strings.HasPrefix(content, `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`) {
		first, _, _ := strings.Cut(content, "\n")
		return expected(`the published declaration <?xml version="1.0" encoding="UTF-8" standalone="no"?>`, "%q", first)
	}
	sf, err := parseReceipt(content)
	if err != nil {
		return err
	}
	// Required elements, in the published order, with optional Response and Error after them.
	want := publishedOrder[:6]
	if len(sf.elements) < 6 || !slices.Equal(sf.elements[:6], want) {
		return expected(fmt.Sprintf("<file> children in the order %v", want), "%v", sf.elements)
	}
	for _, extra := range sf.elements[6:] {
		if extra != "Response" && extra != "Error" {
			return expected("only Response or Error after service", "%q", extra)
		}
	}
	get := func(k string) string { return sf.text["status/file/"+k] }
	switch {
	case get("filename") != serverPath(username, f.service, f.name):
		return expected("filename "+serverPath(username, f.service, f.name)+" (the file's path on the gateway)", "%q", get("filename"))
	case get("FTPTransaktionsId") != f.name:
		return expected("FTPTransaktionsId "+f.name+" (the uploaded name)", "%q", get("FTPTransaktionsId"))
	case !skatIDRe.MatchString(get("SKATTransactionId")):
		return expected("a SKATTransactionId shaped ci<epoch ms>_<digits>_<digits> (as ci1607607002916_31616756_1)", "%q", get("SKATTransactionId"))
	case get("status.code") == "":
		return expected("a status.code text", "none")
	case get("service") != f.service:
		return expected("service "+f.service, "%q", get("service"))
	}
	ts := get("timestamp")
	if !timestampRe.MatchString(ts) {
		return expected("timestamp yyyyMMddHHmmss", "%q", ts)
	}
	if _, err := time.Parse("20060102150405", ts); err != nil {
		return expected("a valid timestamp yyyyMMddHHmmss", "%q", ts)
	}
	return nil
}

var skatIDRe = regexp.MustCompile(`^ci[0-9]{10,}_[0-9]+_[0-9]+$`)

// serverPath is a file's path on the gateway as SKAT's receipts name it:
// /CVR_<cvr>/<TYPE>_<id>/<service>/<name> (docs/GATEWAY.md §6).
func serverPath(username, service, name string) string {
	owner := username
	if cvr, rest, ok := strings.Cut(strings.TrimPrefix(username, "CVR_"), "_"); ok && strings.HasPrefix(username, "CVR_") {
		owner = "CVR_" + cvr + "/" + rest
	}
	return "/" + owner + "/" + service + "/" + name
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
		name := receiptName(f.service, f.name, code)
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
