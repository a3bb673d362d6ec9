package simulator_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// receiptXML mirrors the published status file for assertions.
type receiptXML struct {
	XMLName xml.Name `xml:"status"`
	File    struct {
		Filename          string `xml:"filename"`
		FTPTransaktionsId string `xml:"FTPTransaktionsId"`
		SKATTransactionId string `xml:"SKATTransactionId"`
		Timestamp         string `xml:"timestamp"`
		StatusCode        string `xml:"status.code"`
		Service           string `xml:"service"`
		Response          *struct {
			Filename string `xml:"Filename"`
		} `xml:"Response"`
		Error *struct {
			Code string `xml:"Error.code"`
		} `xml:"Error"`
	} `xml:"file"`
}

// outNames lists a certificate's /out through FTPS, as a client sees it.
func (h *harness) outNames(who string) []string {
	h.t.Helper()
	c := h.login(who)
	defer c.Close()
	return names(h.t, c, "/out")
}

// validateXSD checks a receipt against the shipped schema with xmllint.
func validateXSD(t *testing.T, content []byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint is missing (Debian package libxml2-utils): CI must validate every receipt against the XSD")
		}
		t.Log("xmllint not installed (.ci/run installs libxml2-utils): XSD validation skipped")
		return
	}
	f := filepath.Join(t.TempDir(), "receipt.xml")
	os.WriteFile(f, content, 0o644)
	out, err := exec.CommandContext(ctx(t), "xmllint", "--noout", "--schema", "schema/status.xsd", f).CombinedOutput()
	if err != nil {
		t.Errorf("receipt does not validate against schema/status.xsd: %v\n%s\n%s", err, out, content)
	}
}

func receipts(t *testing.T, h *harness, who string) []control.Receipt {
	t.Helper()
	rs, err := h.api().Receipts(ctx(t), h.identity(who).Username)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func codes(rs []control.Receipt, filename string) []int {
	var out []int
	for _, r := range rs {
		if r.Filename == filename && r.Kind == "receipt" {
			out = append(out, r.Code)
		}
	}
	return out
}

func TestHeartbeatGetsReceiptsWithinSeconds(t *testing.T) {
	h := start(t, nil) // real clock, default delays
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/ping_20261126_1.txt", []byte("ping")); err != nil {
		t.Fatal(err)
	}
	want := []string{"status_FTPSGW.Heartbeat_ping_20261126_1.txt_1.xml", "status_FTPSGW.Heartbeat_ping_20261126_1.txt_2.xml"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := names(t, c, "/out")
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/out = %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, name := range want {
		data, err := c.Download("/out/" + name)
		if err != nil {
			t.Fatal(err)
		}
		validateXSD(t, data)
		var r receiptXML
		if err := xml.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		f := r.File
		wantText := []string{"File delivered to requested Backend System", "File Accepted"}[i]
		if f.Filename != "/CVR_19552101/RID_60134540/FTPSGW.Heartbeat/ping_20261126_1.txt" || f.FTPTransaktionsId != "ping_20261126_1.txt" ||
			!regexp.MustCompile(`^ci[0-9]{13}_[0-9]{8}_[0-9]+$`).MatchString(f.SKATTransactionId) ||
			!bytes.HasPrefix(data, []byte(`<?xml version="1.0" encoding="UTF-8" standalone="no"?>`)) ||
			f.Service != "FTPSGW.Heartbeat" || f.StatusCode != wantText || len(f.Timestamp) != 14 || f.Error != nil {
			t.Errorf("%s: %+v", name, f)
		}
	}
}

func TestBackendOutageDelaysButNeverFails(t *testing.T) {
	h := start(t, virtual)
	api := h.api()
	if err := api.SetBackendUp(ctx(t), false); err != nil {
		t.Fatal(err)
	}
	c := h.login("moces")
	for _, n := range []string{"out_1.txt", "out_2.txt", "out_3.txt"} {
		if err := c.Upload("/FTPSGW.Heartbeat/"+n, []byte(n)); err != nil {
			t.Fatalf("upload during the outage: %v", err)
		}
	}
	if got := h.outNames("moces"); len(got) != 0 {
		t.Fatalf("receipts during the outage: %v", got)
	}
	if _, err := api.Advance(ctx(t), 7*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := h.outNames("moces"); len(got) != 0 {
		t.Fatalf("after 7 h of outage /out holds %v (no status_0 may come from an outage)", got)
	}
	subs, _ := api.Submissions(ctx(t), h.identity("moces").Username)
	for _, s := range subs {
		if s.State != "queued" || s.Attempts < 5 {
			t.Errorf("%s: state %s after %d attempts, want queued and retried", s.Name, s.State, s.Attempts)
		}
	}
	if err := api.SetBackendUp(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	// _1 now; _2 after the 2 s processing delay.
	if _, err := api.Advance(ctx(t), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	rs := receipts(t, h, "moces")
	var order []string
	for _, r := range rs {
		if r.Code == 0 {
			t.Errorf("a status_0 after an outage: %+v", r)
		}
		order = append(order, r.Name)
	}
	want := []string{
		"status_FTPSGW.Heartbeat_out_1.txt_1.xml", "status_FTPSGW.Heartbeat_out_2.txt_1.xml", "status_FTPSGW.Heartbeat_out_3.txt_1.xml",
		"status_FTPSGW.Heartbeat_out_1.txt_2.xml", "status_FTPSGW.Heartbeat_out_2.txt_2.xml", "status_FTPSGW.Heartbeat_out_3.txt_2.xml",
	}
	if !slices.Equal(order, want) {
		t.Fatalf("receipts after the outage, in order:\n%v\nwant\n%v", order, want)
	}
	if got := h.outNames("moces"); len(got) != 6 {
		t.Errorf("/out = %v", got)
	}
}

func TestScheduledOutage(t *testing.T) {
	start0 := time.Now().UTC()
	h := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.Backend.Outages = []simulator.Outage{{From: start0.Add(-time.Minute), To: start0.Add(3 * time.Hour)}}
	})
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/sched_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	h.api().Advance(ctx(t), 2*time.Hour)
	if rs := receipts(t, h, "moces"); len(rs) != 0 {
		t.Fatalf("receipts inside the scheduled outage: %+v", rs)
	}
	h.api().Advance(ctx(t), 2*time.Hour)
	if got := codes(receipts(t, h, "moces"), "sched_1.txt"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("after the outage: %v", got)
	}
}

func TestRolesChangeOnlyWithReplication(t *testing.T) {
	h := start(t, virtual)
	api := h.api()
	moces := h.identity("moces")
	newRoles := append(slices.Clone(moces.Roles), "eKapital.Rente.Pantebreve")
	if err := api.SetRoles(ctx(t), moces.Username, newRoles); err != nil {
		t.Fatal(err)
	}
	c := h.login("moces")
	if got := names(t, c, "/"); slices.Contains(got, "eKapital.Rente.Pantebreve") {
		t.Fatalf("the new role shows before replication: %v", got)
	}
	if err := c.Upload("/eKapital.Rente.Pantebreve/early_1.txt", []byte("x")); err == nil {
		t.Fatal("upload into a role not yet replicated succeeded")
	}
	api.Advance(ctx(t), 59*time.Minute)
	if got := names(t, c, "/"); slices.Contains(got, "eKapital.Rente.Pantebreve") {
		t.Fatalf("the new role shows after 59 minutes: %v", got)
	}
	api.Advance(ctx(t), 2*time.Minute)
	if got := names(t, c, "/"); !slices.Contains(got, "eKapital.Rente.Pantebreve") {
		t.Fatalf("the new role is missing after the hourly replication: %v", got)
	}
	if err := c.Upload("/eKapital.Rente.Pantebreve/after_1.txt", []byte("x")); err != nil {
		t.Fatalf("upload into the replicated role: %v", err)
	}
	// Revoking works the same way; replicate-now skips the wait.
	api.SetRoles(ctx(t), moces.Username, []string{"FTPSGW.Heartbeat"})
	if got := names(t, c, "/"); !slices.Contains(got, "eKapital.Rente.Udlaan") {
		t.Fatalf("revocation applied before replication: %v", got)
	}
	if err := api.Replicate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := names(t, c, "/"); !slices.Equal(got, []string{"FTPSGW.Heartbeat", "out"}) {
		t.Fatalf("after replicate-now: %v", got)
	}
}

func TestSecuritySystemOutageKeepsLastReplica(t *testing.T) {
	h := start(t, virtual)
	api := h.api()
	moces := h.identity("moces")
	if err := api.SetSecurityReachable(ctx(t), false); err != nil {
		t.Fatal(err)
	}
	api.SetRoles(ctx(t), moces.Username, []string{"FTPSGW.Heartbeat"})
	api.Advance(ctx(t), 3*time.Hour)
	c := h.login("moces") // logins still work
	want := append([]string{"out"}, moces.Roles...)
	slices.Sort(want)
	if got := names(t, c, "/"); !slices.Equal(got, want) {
		t.Fatalf("roles during the outage: %v, want the last replica %v", got, want)
	}
	if err := api.Replicate(ctx(t)); control.StatusOf(err) != 503 {
		t.Fatalf("replicate-now while unreachable: %v, want 503", err)
	}
	sec, _ := api.Security(ctx(t))
	if *sec.Reachable {
		t.Error("security reported reachable")
	}
	metrics := h.metrics()
	if !strings.Contains(metrics, `ftpsgw_replications_total{result="unreachable"}`) || !strings.Contains(metrics, "ftpsgw_security_reachable 0") {
		t.Errorf("metrics do not show the outage:\n%s", grepLines(metrics, "replication", "security"))
	}
	if !strings.Contains(h.log.String(), "security system unreachable") {
		t.Error("the log does not say the security system is unreachable")
	}
	api.SetSecurityReachable(ctx(t), true)
	api.Advance(ctx(t), time.Hour)
	if got := names(t, c, "/"); !slices.Equal(got, []string{"FTPSGW.Heartbeat", "out"}) {
		t.Fatalf("after the link came back and an hour passed: %v", got)
	}
}

func TestReusedNameGetsStatus0(t *testing.T) {
	h := start(t, virtual)
	c := h.login("moces")
	for i := 0; i < 2; i++ {
		if err := c.Upload("/FTPSGW.Heartbeat/same_name.txt", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	h.api().Advance(ctx(t), 5*time.Second)
	var zero []control.Receipt
	for _, r := range receipts(t, h, "moces") {
		if r.Code == 0 {
			zero = append(zero, r)
		}
	}
	if len(zero) != 1 || zero[0].ErrorCode != simulator.ErrCodeNameReused || !strings.Contains(zero[0].Content, "<Error.code>FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION</Error.code>") {
		t.Fatalf("status_0 receipts: %+v", zero)
	}
	validateXSD(t, []byte(zero[0].Content))
	if got := codes(receipts(t, h, "moces"), "same_name.txt"); !slices.Equal(got, []int{0, 1, 2}) && !slices.Equal(got, []int{1, 0, 2}) {
		t.Errorf("codes %v", got)
	}
}

func TestServiceRules(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.Backend.Services = map[string]simulator.ServiceRule{
			"eKapital.Rente.Udlaan": {Action: simulator.ActionAccept, Delay: simulator.Duration(time.Hour), RequireASCII: true,
				RecordLength: 10, Reply: true, ExposeDelay: simulator.Duration(10 * time.Minute)},
		}
	})
	api := h.api()
	// A rejecting service set at run time; the heartbeat is always accepted.
	if _, err := api.SetBackend(ctx(t), control.Backend{Services: map[string]control.ServiceRule{
		"eKapital.Rente.Pantebreve": {Action: "reject", ErrorCode: "LAST_RECORD_INCORRECT", ErrorMessage: "bad last record", Delay: "1s"},
		"FTPSGW.Heartbeat":          {Action: "reject", ErrorCode: "NEVER", Delay: "1s"},
	}}); err != nil {
		t.Fatal(err)
	}
	moces, other := h.login("moces"), h.login("other-company")
	moces.Type(ftp.TransferTypeASCII)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(moces.Upload("/eKapital.Rente.Udlaan/good_1.txt", []byte("0123456789\r\nabcdefghij\r\n")))
	must(moces.Upload("/eKapital.Rente.Udlaan/short_1.txt", []byte("0123456789\r\nabc\r\n")))
	must(moces.Upload("/eKapital.Rente.Udlaan/val_check_1.txt", []byte("0123456789\r\n")))
	moces.Type(ftp.TransferTypeBinary)
	must(moces.Upload("/eKapital.Rente.Udlaan/binary_1.txt", []byte("0123456789\n")))
	must(moces.Upload("/FTPSGW.Heartbeat/hb_1.txt", []byte("x")))
	must(other.Upload("/eKapital.Rente.Pantebreve/pb_1.txt", []byte("x")))

	api.Advance(ctx(t), 2*time.Hour)
	rs := append(receipts(t, h, "moces"), receipts(t, h, "other-company")...)
	find := func(name string, code int) control.Receipt {
		for _, r := range rs {
			if r.Filename == name && r.Code == code && r.Kind == "receipt" {
				return r
			}
		}
		t.Fatalf("no receipt %d for %s in %v", code, name, codes(rs, name))
		return control.Receipt{}
	}
	for _, tc := range []struct {
		name  string
		codes []int
		err   string
	}{
		{"good_1.txt", []int{1, 2, 3}, ""},
		{"short_1.txt", []int{1, 0}, simulator.ErrCodeRecordLength},
		{"val_check_1.txt", []int{1, 2, 3}, ""},
		{"binary_1.txt", []int{1, 0}, simulator.ErrCodeNotASCII},
		{"hb_1.txt", []int{1, 2}, ""},
		{"pb_1.txt", []int{1, 0}, "LAST_RECORD_INCORRECT"},
	} {
		if got := codes(rs, tc.name); !slices.Equal(got, tc.codes) {
			t.Errorf("%s: receipt codes %v, want %v", tc.name, got, tc.codes)
			continue
		}
		last := find(tc.name, tc.codes[len(tc.codes)-1])
		if last.ErrorCode != tc.err {
			t.Errorf("%s: error code %q, want %q", tc.name, last.ErrorCode, tc.err)
		}
		validateXSD(t, []byte(last.Content))
	}
	// val_ is answered as a filing: the same chain and texts (here 1, 2 and, with reply, 3).
	if r := find("val_check_1.txt", 2); !strings.Contains(r.Content, "<status.code>File Accepted</status.code>") {
		t.Errorf("val_ receipt 2 is not a filing's:\n%s", r.Content)
	}
	// Danish by default: SKAT's published descriptions.
	for name, want := range map[string]string{
		"binary_1.txt": "<Error.message>Der er ikke valgt Ascii som Transfer mode i FTPs klienten</Error.message>",
		"short_1.txt":  "<Error.message>Længden for de enkelte records i filen er ikke korrekt: record 2 har 3 tegn; formatet kræver 10</Error.message>",
	} {
		if r := find(name, 0); !strings.Contains(r.Content, want) {
			t.Errorf("%s: status_0 without SKAT's Danish description %s:\n%s", name, want, r.Content)
		}
	}
	exposed := find("good_1.txt", 3)
	var x receiptXML
	xml.Unmarshal([]byte(exposed.Content), &x)
	if x.File.Response == nil || x.File.Response.Filename != simulator.ReplyName("eKapital.Rente.Udlaan", "good_1.txt") {
		t.Errorf("_3 has no Response/Filename: %s", exposed.Content)
	}
	if got := h.outNames("moces"); !slices.Contains(got, simulator.ReplyName("eKapital.Rente.Udlaan", "good_1.txt")) {
		t.Errorf("the reply file is not in /out: %v", got)
	}
}

func TestRetentionDeletesAfter30Days(t *testing.T) {
	h := start(t, virtual)
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/old_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	api := h.api()
	api.Advance(ctx(t), 5*time.Second)
	if got := names(t, c, "/out"); len(got) != 2 {
		t.Fatalf("/out = %v", got)
	}
	entries, _ := c.List("/out")
	clock, _ := api.Clock(ctx(t))
	if d := clock.Now.Sub(entries[0].Time); d < 0 || d > time.Minute {
		t.Errorf("file time %s is not the gateway clock's %s", entries[0].Time, clock.Now)
	}
	api.Advance(ctx(t), 29*24*time.Hour)
	if got := names(t, c, "/out"); len(got) != 2 {
		t.Fatalf("deleted before 30 days: %v", got)
	}
	api.Advance(ctx(t), 24*time.Hour+time.Minute)
	if got := names(t, c, "/out"); len(got) != 0 {
		t.Fatalf("still in /out after 30 days: %v", got)
	}
	for _, r := range receipts(t, h, "moces") {
		if !r.Deleted {
			t.Errorf("receipt %s not marked deleted", r.Name)
		}
	}
}

// receipt_language: en gives the English texts.
func TestReceiptLanguageEnglish(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Clock, c.ReceiptLanguage = simulator.ClockVirtual, "en"
		c.Backend.Services = map[string]simulator.ServiceRule{"eKapital.Rente.Udlaan": {Action: simulator.ActionAccept, Delay: simulator.Duration(time.Second), RequireASCII: true}}
	})
	c := h.login("moces")
	c.Type(ftp.TransferTypeBinary)
	if err := c.Upload("/eKapital.Rente.Udlaan/en_1.txt", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	h.api().Advance(ctx(t), time.Minute)
	found := 0
	for _, r := range receipts(t, h, "moces") {
		if r.Code == 0 && r.Kind == "receipt" {
			found++
			if !strings.Contains(r.Content, "<Error.message>The file was not uploaded in ASCII mode.</Error.message>") {
				t.Errorf("English status_0:\n%s", r.Content)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d status_0 receipts, want 1", found)
	}
}

// timing: realistic answers with the published delays, on the virtual clock.
func TestRealisticTiming(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.Clock, c.Timing = simulator.ClockVirtual, simulator.TimingRealistic })
	c := h.login("moces")
	if err := c.Upload("/eKapital.Rente.Udlaan/slow_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration, want []int) {
		t.Helper()
		h.api().Advance(ctx(t), d)
		var got []int
		eventually(t, fmt.Sprintf("receipts %v", want), func() bool {
			got = codes(receipts(t, h, "moces"), "slow_1.txt")
			return slices.Equal(got, want)
		})
	}
	step(10*time.Second, nil)
	step(10*time.Second, []int{1})
	step(3*time.Hour, []int{1})
	step(time.Hour, []int{1, 2})
}

// SKAT: "en eller to filer med Status 3 sammen med en fejlliste og en eventuel advisliste".
// lists: errors+advice gives an error list and an advice list (text, in the record structure)
// and two _3 receipts naming them; lists: errors gives one.
func TestStatus3Lists(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.Backend.Services = map[string]simulator.ServiceRule{
			"eKapital.Rente.Udlaan":  {Action: simulator.ActionAccept, Delay: simulator.Duration(time.Second), Lists: simulator.ListsWithAdvice, RecordLength: 40},
			"eKapital.Rente.Indlaan": {Action: simulator.ActionAccept, Delay: simulator.Duration(time.Second), Lists: simulator.ListsErrors},
		}
	})
	c := h.login("moces")
	if err := c.Upload("/eKapital.Rente.Udlaan/lists_1.txt", []byte(strings.Repeat("x", 40)+"\r\n")); err != nil {
		t.Fatal(err)
	}
	h.api().Advance(ctx(t), time.Minute)
	var out []string
	deadline := time.Now().Add(5 * time.Second)
	for out = h.outNames("moces"); len(out) != 6 && time.Now().Before(deadline); out = h.outNames("moces") {
		h.api().Advance(ctx(t), time.Minute)
		time.Sleep(20 * time.Millisecond)
	}
	want := []string{"advisliste_eKapital.Rente.Udlaan_lists_1.txt.txt", "fejlliste_eKapital.Rente.Udlaan_lists_1.txt.txt",
		"status_eKapital.Rente.Udlaan_lists_1.txt_1.xml", "status_eKapital.Rente.Udlaan_lists_1.txt_2.xml",
		"status_eKapital.Rente.Udlaan_lists_1.txt_3.xml", "status_eKapital.Rente.Udlaan_lists_1.txt_3_2.xml"}
	if !slices.Equal(out, want) {
		t.Fatalf("/out = %v, want %v", out, want)
	}
	cm := h.login("moces")
	first, _ := cm.Download("/out/status_eKapital.Rente.Udlaan_lists_1.txt_3.xml")
	second, _ := cm.Download("/out/status_eKapital.Rente.Udlaan_lists_1.txt_3_2.xml")
	if !strings.Contains(string(first), "<Filename>fejlliste_eKapital.Rente.Udlaan_lists_1.txt.txt</Filename>") ||
		!strings.Contains(string(second), "<Filename>advisliste_eKapital.Rente.Udlaan_lists_1.txt.txt</Filename>") {
		t.Errorf("the _3 receipts do not name the lists:\n%s\n%s", first, second)
	}
	validateXSD(t, first)
	validateXSD(t, second)
	list, _ := cm.Download("/out/fejlliste_eKapital.Rente.Udlaan_lists_1.txt.txt")
	for i, rec := range strings.Split(strings.TrimSuffix(string(list), "\r\n"), "\r\n") {
		if len(rec) != 40 || !strings.HasPrefix(rec, []string{"0001", "2000", "9998"}[i]) {
			t.Errorf("error list record %d: %q", i+1, rec)
		}
	}
}
