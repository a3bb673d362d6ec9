package simulator_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

func names(t *testing.T, c *ftpsclient.Client, dir string) []string {
	t.Helper()
	entries, err := c.List(dir)
	if err != nil {
		t.Fatalf("LIST %s: %v", dir, err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

func TestRootShowsOutAndCurrentRolesOnly(t *testing.T) {
	h := start(t, nil)
	for _, name := range []string{"moces", "voces", "other-company"} {
		c := h.login(name)
		want := append([]string{"out"}, h.identity(name).Roles...)
		sort.Strings(want)
		if got := names(t, c, "/"); !slices.Equal(got, want) {
			t.Errorf("%s: LIST / = %v, want %v", name, got, want)
		}
		nl, err := c.NameList("/")
		if err != nil {
			t.Fatal(err)
		}
		for i := range nl {
			nl[i] = strings.TrimPrefix(nl[i], "/")
		}
		sort.Strings(nl)
		if !slices.Equal(nl, want) {
			t.Errorf("%s: NLST / = %v, want %v", name, nl, want)
		}
	}
}

// TestPathsOutsideTheViewDoNotExist tries every path-taking command with every spelling of
// escape we know; each must fail, and nothing may change on disk.
func TestPathsOutsideTheViewDoNotExist(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	before := snapshot(t, h.srv.DataDir())
	paths := []string{
		"//etc", "/etc/passwd", "../../etc/passwd", "\\..\\..", "..\\..",
		"%2e%2e", "%2e%2e%2f", "/%2e%2e/%2e%2e", "/FTPSGW.Heartbeat/../../../etc", "/eKapital.Rente.Indlaan",
		"/eKapital.Rente.Indlaan/x.txt", "/out/../../pki", "/out/..%2f..%2f", "/OUT", "/Out/x", "/ftpsgw.heartbeat",
		h.srv.DataDir(), h.srv.DataDir() + "/gateway.db", "/out/" + strings.Repeat("a", 600), "/out/\xff\xfe",
		"/FTPSGW.Heartbeat/x/y", "/out/sub/dir", "~", "~root", "*", "../../etc", "/../../../etc/shadow",
	}
	cmds := []string{"CWD", "SIZE", "MDTM", "MLST", "DELE", "MKD", "RMD", "RNFR", "STAT"}
	visible := map[string]bool{"/": true, "/out": true, "/FTPSGW.Heartbeat": true, "/eKapital.Rente.Udlaan": true}
	for _, p := range paths {
		if visible[path.Clean("/"+p)] {
			t.Fatalf("test bug: %q is a spelling of a visible folder", p)
		}
		for _, cmd := range cmds {
			code, msg, err := r.Cmd("%s %s", cmd, p)
			if err != nil {
				t.Fatalf("%s %q: %v", cmd, p, err)
			}
			// ftpserverlib answers STAT of a missing path with 450.
			if code < 500 && !(cmd == "STAT" && code == 450) {
				t.Errorf("%s %q answered %d %s", cmd, p, code, msg)
			}
		}
		for _, cmd := range []string{"LIST", "NLST", "MLSD", "RETR", "STOR", "APPE"} {
			code := dataCommand(t, r, cmd, p)
			// ftpserverlib answers a listing of a missing path with 450; it lists "/" for ".." at the root.
			listing := cmd == "LIST" || cmd == "NLST" || cmd == "MLSD"
			if code < 500 && !(listing && code == 450) {
				t.Errorf("%s %q answered %d", cmd, p, code)
			}
		}
	}
	// Spellings of visible folders resolve inside the view, never above it.
	for _, p := range []string{"..", "../", "/..", "/../..", "./../..", "/out/.", "/out/../..", "/FTPSGW.Heartbeat/.."} {
		if code, msg, _ := r.Cmd("CWD %s", p); code != 250 || !strings.Contains(msg, "/") {
			t.Errorf("CWD %q: %d %s", p, code, msg)
		}
		if code, msg, _ := r.Cmd("PWD"); code != 257 || !(strings.Contains(msg, `"/"`) || strings.Contains(msg, `"/out"`)) {
			t.Errorf("PWD after CWD %q: %d %s", p, code, msg)
		}
		r.Cmd("CWD /")
	}
	// The session is still usable and still in its root.
	if code, msg, _ := r.Cmd("PWD"); code != 257 || !strings.Contains(msg, `"/"`) {
		t.Errorf("PWD after the attempts: %d %s", code, msg)
	}
	if after := snapshot(t, h.srv.DataDir()); !slices.Equal(before, after) {
		t.Errorf("the data folder changed:\nbefore %v\nafter  %v", before, after)
	}
}

// dataCommand runs a command that needs a data connection and returns the final reply code
// (the first one if it is an error). A protected data connection is used.
func dataCommand(t *testing.T, r *ftpsclient.Raw, cmd, arg string) int {
	t.Helper()
	data, err := r.OpenData(ctx(t), true)
	if err != nil {
		t.Fatalf("data connection: %v", err)
	}
	defer data.Close()
	code, _, err := r.Cmd("%s %s", cmd, arg)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if code != 150 && code != 125 {
		return code
	}
	if cmd == "STOR" || cmd == "APPE" {
		data.Write([]byte("x"))
	} else {
		io.Copy(io.Discard, data)
	}
	data.Close()
	code, _, err = r.ReadReply()
	if err != nil {
		t.Fatalf("%s final reply: %v", cmd, err)
	}
	return code
}

// snapshot lists the files below dir (excluding the live database files).
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || strings.HasPrefix(filepath.Base(p), "gateway.db") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fmt.Sprintf("%s:%d", rel, fi.Size()))
		return nil
	})
	return out
}

// receiptFor uploads a heartbeat as who and lets its receipts be made (virtual clock).
func (h *harness) receiptFor(who, name string) {
	h.t.Helper()
	c := h.login(who)
	defer c.Close()
	if err := c.Upload("/FTPSGW.Heartbeat/"+name, []byte("ping")); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.api().Advance(ctx(h.t), 3*time.Second); err != nil {
		h.t.Fatal(err)
	}
}

func TestOutIsPrivatePerCertificate(t *testing.T) {
	h := start(t, virtual)
	moces, voces := h.identity("moces"), h.identity("voces")
	if moces.CVR != voces.CVR {
		t.Fatal("the fixture needs two certificates with one CVR")
	}
	h.receiptFor("moces", "x.txt")
	const receipt = "status_FTPSGW.Heartbeat_x.txt_1.xml"
	cm := h.login("moces")
	if got := names(t, cm, "/out"); !slices.Equal(got, []string{receipt, "status_FTPSGW.Heartbeat_x.txt_2.xml"}) {
		t.Fatalf("moces /out = %v", got)
	}
	if data, err := cm.Download("/out/" + receipt); err != nil || !strings.Contains(string(data), "<filename>/CVR_19552101/RID_60134540/FTPSGW.Heartbeat/x.txt</filename>") {
		t.Fatalf("moces RETR own receipt: %q %v", data, err)
	}
	for _, other := range []string{"voces", "other-company"} {
		c := h.login(other)
		if got := names(t, c, "/out"); len(got) != 0 {
			t.Errorf("%s sees %v in /out", other, got)
		}
		if _, err := c.Download("/out/" + receipt); ftpsclient.Code(err) != 550 {
			t.Errorf("%s RETR of another certificate's receipt: %v", other, err)
		}
		if err := c.Delete("/out/" + receipt); ftpsclient.Code(err) != 550 {
			t.Errorf("%s DELE of another certificate's receipt: %v", other, err)
		}
	}
}

// SKAT recommends deleting checked receipts: the owner may (the default), nobody else may,
// also where the shared-out defect lets another certificate see them; out_delete: deny
// refuses every DELE.
func TestOutDelete(t *testing.T) {
	h := start(t, virtual)
	h.receiptFor("moces", "r.txt")
	c := h.login("moces")
	if err := c.Delete("/out/status_FTPSGW.Heartbeat_r.txt_1.xml"); err != nil {
		t.Fatalf("DELE own receipt: %v", err)
	}
	if got := names(t, c, "/out"); !slices.Equal(got, []string{"status_FTPSGW.Heartbeat_r.txt_2.xml"}) {
		t.Errorf("after DELE /out = %v", got)
	}
	if err := c.Delete("/out/../out/status_FTPSGW.Heartbeat_r.txt_1.xml"); err == nil {
		t.Error("DELE of a deleted receipt succeeded")
	}
	v := h.login("voces")
	if err := v.Delete("/out/status_FTPSGW.Heartbeat_r.txt_2.xml"); err == nil {
		t.Error("another certificate deleted moces's receipt")
	}

	shared := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.Defects = []string{simulator.DefectSharedOut}
	})
	shared.receiptFor("moces", "s.txt")
	sv := shared.login("voces")
	if got := names(t, sv, "/out"); len(got) == 0 {
		t.Fatal("the shared-out defect does not show moces's receipts to voces")
	}
	if err := sv.Delete("/out/status_FTPSGW.Heartbeat_s.txt_1.xml"); ftpsclient.Code(err) != 550 || !strings.Contains(err.Error(), "another certificate") {
		t.Errorf("voces deleted moces's receipt through a shared /out: %v", err)
	}

	deny := start(t, func(c *simulator.Config) { c.Clock = simulator.ClockVirtual; c.OutDelete = simulator.OutDeleteDeny })
	deny.receiptFor("moces", "d.txt")
	if err := deny.login("moces").Delete("/out/status_FTPSGW.Heartbeat_d.txt_1.xml"); ftpsclient.Code(err) != 550 {
		t.Errorf("out_delete: deny: DELE answered %v", err)
	}
}

func TestUploadRules(t *testing.T) {
	h := start(t, nil)
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/ping_1.txt", []byte("ping")); err != nil {
		t.Fatalf("a good upload failed: %v", err)
	}
	// The service folder lists empty: files move on.
	if got := names(t, c, "/FTPSGW.Heartbeat"); len(got) != 0 {
		t.Errorf("service folder lists %v", got)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/ping_2.txt", 550},
		{"/out/ping_3.txt", 550},
		{"/eKapital.Rente.Indlaan/ping_4.txt", 550}, // a role moces does not hold
		// the general rule (eKapital.Rente.Udlaan has no rule of its own)
		{"/eKapital.Rente.Udlaan/bad name.txt", 553},
		{"/eKapital.Rente.Udlaan/bad-name.txt", 553},
		{"/eKapital.Rente.Udlaan/two.dots.txt", 553},
		{"/eKapital.Rente.Udlaan/" + strings.Repeat("a", 79) + ".txt", 553},
		{"/eKapital.Rente.Udlaan/æøå.txt", 553},
		// every service: the val_ rule, and safe names
		{"/FTPSGW.Heartbeat/val_", 553},
		{"/FTPSGW.Heartbeat/.txt", 553},
		{"/FTPSGW.Heartbeat/val_bad-name.txt", 553},
		{"/FTPSGW.Heartbeat/bad name.txt", 553},
		{"/FTPSGW.Heartbeat/" + strings.Repeat("a", 79) + ".txt", 553},
	} {
		if err := c.Upload(tc.path, []byte("x")); ftpsclient.Code(err) != tc.code {
			t.Errorf("STOR %s: got %v, want %d", tc.path, err, tc.code)
		}
	}
	if err := c.Upload("/eKapital.Rente.Udlaan/"+strings.Repeat("a", 78)+".txt", []byte("x")); err != nil {
		t.Errorf("a 78-character unique part was refused: %v", err)
	}
	// SKAT's own heartbeat example has a dash (docs/GATEWAY.md §5).
	if err := c.Upload("/FTPSGW.Heartbeat/ping20201210143002441-hb01.xml", []byte("x")); err != nil {
		t.Errorf("SKAT's published heartbeat name was refused: %v", err)
	}
	if err := c.Upload("/FTPSGW.Heartbeat/val_check_1.txt", []byte("x")); err != nil {
		t.Errorf("a val_ upload was refused: %v", err)
	}
	subs := h.submissions(h.identity("moces").Username)
	if len(subs) != 4 || !subs[3].Validation || subs[0].Validation {
		t.Errorf("submissions: %+v", subs)
	}
	// APPE and REST+STOR: a submission is one whole file.
	if err := c.Append("/FTPSGW.Heartbeat/ping_5.txt", bytes.NewReader([]byte("x"))); ftpsclient.Code(err) != 550 {
		t.Errorf("APPE: %v", err)
	}
	if err := c.StorFrom("/FTPSGW.Heartbeat/ping_6.txt", bytes.NewReader([]byte("x")), 10); ftpsclient.Code(err) != 550 {
		t.Errorf("REST 10 + STOR: %v", err)
	}
	if len(h.submissions("")) != 4 {
		t.Errorf("refused uploads were recorded: %+v", h.submissions(""))
	}
}

func TestOddBytesInNames(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	for _, name := range []string{"a\x00b.txt", "a\x01b.txt", "\xff\xfe.txt", strings.Repeat("n", 3000), "a\tb.txt"} {
		code := dataCommand(t, r, "STOR", "/FTPSGW.Heartbeat/"+name)
		if code < 500 {
			t.Errorf("STOR %q answered %d", name, code)
		}
	}
	// A line past the server's limit ends the session; the server lives on.
	r.Cmd("STOR /FTPSGW.Heartbeat/%s", strings.Repeat("x", 5000))
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/after_odd.txt", []byte("ok")); err != nil {
		t.Fatalf("the server is unwell after odd names: %v", err)
	}
	if n := len(h.submissions("")); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
}

func TestPROTCNeverMovesDataInClear(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	if code, _, _ := r.Cmd("PBSZ 0"); code != 200 {
		t.Fatalf("PBSZ: %d", code)
	}
	r.Cmd("PROT C")
	tmpBefore, _ := os.ReadDir(filepath.Join(h.srv.DataDir(), "tmp"))
	data, err := r.OpenData(ctx(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	code, msg, _ := r.Cmd("STOR /FTPSGW.Heartbeat/clear_1.txt")
	if code < 500 || !strings.Contains(msg, "PROT P") {
		t.Fatalf("STOR after PROT C answered %d %s", code, msg)
	}
	tmpAfter, _ := os.ReadDir(filepath.Join(h.srv.DataDir(), "tmp"))
	if len(tmpAfter) != len(tmpBefore) {
		t.Error("a file was created for the refused upload")
	}
	data2, err := r.OpenData(ctx(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer data2.Close()
	if code, msg, _ := r.Cmd("LIST /"); code < 400 {
		t.Fatalf("LIST after PROT C answered %d %s", code, msg)
	}
	data2.SetReadDeadline(time.Now().Add(time.Second))
	if b, _ := io.ReadAll(data2); len(b) > 0 {
		t.Fatalf("LIST after PROT C sent %q in clear", b)
	}
	if len(h.submissions("")) != 0 {
		t.Error("an upload was recorded")
	}
}

func TestActiveModeRefused(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	// A permanent 5xx: the library's 421 for a disabled PORT invites clients to retry.
	for _, cmd := range []string{"PORT 127,0,0,1,200,10", "EPRT |1|127.0.0.1|51210|", "EPRT |2|::1|51210|", "PORT 1,2,3"} {
		if code, msg, _ := r.Cmd("%s", cmd); code < 500 || code > 599 {
			t.Errorf("%s answered %d %s, want a permanent 5xx", cmd, code, msg)
		}
	}
	// Nothing was dialled: the session still transfers in passive mode.
	if code, msg, _ := r.Cmd("PASV"); code != 227 {
		t.Errorf("PASV after the refused PORTs: %d %s", code, msg)
	}
}

func TestNamesAreUniqueForever(t *testing.T) {
	for _, tc := range []struct {
		scope           simulator.Scope
		voces, otherCVR bool // is the name reused for voces (same CVR) / other-company
	}{
		{simulator.ScopeCVR, true, false},
		{simulator.ScopeCertificate, false, false},
		{simulator.ScopeGlobal, true, true},
	} {
		t.Run(string(tc.scope), func(t *testing.T) {
			h := start(t, func(c *simulator.Config) { c.UniqueScope = tc.scope })
			upload := func(who string) simulator.Submission {
				t.Helper()
				c := h.login(who)
				if err := c.Upload("/FTPSGW.Heartbeat/report_2026_001.txt", []byte("data")); err != nil {
					t.Fatalf("%s upload: %v", who, err)
				}
				subs := h.submissions(h.identity(who).Username)
				return subs[len(subs)-1]
			}
			if first := upload("moces"); first.Reused {
				t.Fatal("first upload marked reused")
			}
			if again := upload("moces"); !again.Reused {
				t.Error("second upload by the same certificate not marked reused")
			}
			if got := upload("voces").Reused; got != tc.voces {
				t.Errorf("voces (same CVR): reused=%v, want %v", got, tc.voces)
			}
			if got := upload("other-company").Reused; got != tc.otherCVR {
				t.Errorf("other CVR: reused=%v, want %v", got, tc.otherCVR)
			}
		})
	}
}

func TestReusedNameRejectedAtOnce(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.ReuseReply = simulator.ReuseReplyReject })
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/once.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	err := c.Upload("/FTPSGW.Heartbeat/once.txt", []byte("b"))
	if ftpsclient.Code(err) != 553 || !strings.Contains(err.Error(), simulator.ErrCodeNameReused) {
		t.Fatalf("reuse: %v", err)
	}
	if n := len(h.submissions("")); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
}

func TestRacingUploadsOfOneNameHaveOneWinner(t *testing.T) {
	h := start(t, nil)
	const n = 12
	clients := make([]*ftpsclient.Client, n)
	for i := range clients {
		who := []string{"moces", "voces", "foces"}[i%3] // one CVR
		clients[i] = h.login(who)
	}
	payload := bytes.Repeat([]byte("r"), 256<<10)
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = c.Upload("/FTPSGW.Heartbeat/race_1.txt", payload)
		}()
	}
	close(start)
	wg.Wait()
	var fresh, reused int
	for _, s := range h.submissions("") {
		if s.Reused {
			reused++
		} else {
			fresh++
		}
	}
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if code := ftpsclient.Code(err); code != 550 {
			t.Errorf("a losing upload failed with %v, want 550 (busy)", err)
		}
	}
	if fresh != 1 || ok != fresh+reused {
		t.Fatalf("fresh submissions %d (want 1), reused %d, successful replies %d", fresh, reused, ok)
	}
}

// TestBrokenTransfersBurnNoName: ABOR mid-upload and a reset data connection leave nothing
// and keep the name free.
func TestBrokenTransfersBurnNoName(t *testing.T) {
	for _, mode := range []string{"abor", "reset", "tls-garbage"} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, nil)
			r := h.rawLogin("moces")
			data, err := r.OpenData(ctx(t), true)
			if err != nil {
				t.Fatal(err)
			}
			name := "/FTPSGW.Heartbeat/broken_" + strings.ReplaceAll(mode, "-", "_") + ".txt"
			if code, msg, _ := r.Cmd("STOR %s", name); code != 150 {
				t.Fatalf("STOR: %d %s", code, msg)
			}
			if _, err := data.Write(bytes.Repeat([]byte("p"), 64<<10)); err != nil {
				t.Fatal(err)
			}
			switch mode {
			case "abor":
				r.Cmd("ABOR")
				data.Close()
			case "reset":
				raw := data.(interface{ NetConn() net.Conn }).NetConn()
				raw.(*net.TCPConn).SetLinger(0)
				raw.Close()
			case "tls-garbage":
				raw := data.(interface{ NetConn() net.Conn }).NetConn()
				raw.Write([]byte("\x17\x03\x03\x00\x10garbage-garbage!"))
				raw.Close()
			}
			eventually(t, "the aborted upload is journalled", func() bool {
				for _, e := range h.events(simulator.JournalQuery{Types: []simulator.EventType{simulator.EventUpload}}) {
					if e.Path == name && !e.OK {
						return true
					}
				}
				return false
			})
			if subs := h.submissions(""); len(subs) != 0 {
				t.Fatalf("a broken upload was recorded: %+v", subs)
			}
			tmp, _ := os.ReadDir(filepath.Join(h.srv.DataDir(), "tmp"))
			if len(tmp) != 0 {
				t.Errorf("partial files left: %v", tmp)
			}
			c := h.login("moces")
			if err := c.Upload(name, []byte("whole")); err != nil {
				t.Fatalf("the name was burned: %v", err)
			}
			subs := h.submissions("")
			if len(subs) != 1 || subs[0].Reused || subs[0].Size != 5 {
				t.Fatalf("after the retry: %+v", subs)
			}
		})
	}
}

func TestDataConnectionMustComeFromTheControlAddress(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	code, msg, _ := r.Cmd("EPSV")
	if code != 229 {
		t.Fatalf("EPSV: %d %s", code, msg)
	}
	var port int
	fmt.Sscanf(msg[strings.Index(msg, "(|||")+4:], "%d", &port)
	// 127.0.0.2 is loopback too, but not the control connection's address.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx(t), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2 here: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(conn, r.TLSConfig())
	code, _, _ = r.Cmd("STOR /FTPSGW.Heartbeat/bounce_1.txt")
	if code == 150 {
		tc.Write([]byte("x"))
		tc.Close()
		code, _, _ = r.ReadReply()
	}
	if code < 400 {
		t.Fatalf("a data connection from another address was accepted (%d)", code)
	}
	if len(h.submissions("")) != 0 {
		t.Fatal("the upload was recorded")
	}
}

// TestFilesPlantedOnDiskAreNotServed: /out is a view of the receipt records. A file or a
// symlink someone puts into the data folder is never listed or served.
func TestFilesPlantedOnDiskAreNotServed(t *testing.T) {
	h := start(t, nil)
	moces := h.identity("moces")
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("secret"), 0o644)
	dir := filepath.Join(h.srv.DataDir(), "out", moces.Username)
	os.MkdirAll(dir, 0o750)
	if err := os.Symlink(secret, filepath.Join(dir, "link.xml")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "planted.xml"), []byte("planted"), 0o640)
	c := h.login("moces")
	if got := names(t, c, "/out"); len(got) != 0 {
		t.Errorf("/out lists %v", got)
	}
	for _, n := range []string{"link.xml", "planted.xml"} {
		if data, err := c.Download("/out/" + n); err == nil {
			t.Fatalf("RETR served a file from disk: %q", data)
		}
	}
}

// TestUploadWithoutTYPEIsASCII: RFC 959 makes ASCII the default type; lftp relies on it.
func TestUploadWithoutTYPEIsASCII(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	if code := dataCommand(t, r, "STOR", "/FTPSGW.Heartbeat/no_type_1.txt"); code != 226 {
		t.Fatalf("STOR: %d", code)
	}
	if subs := h.submissions(""); len(subs) != 1 || !subs[0].ASCII {
		t.Fatalf("an upload without TYPE was not recorded as ASCII: %+v", subs)
	}
}

func TestASCIIModeIsRecorded(t *testing.T) {
	h := start(t, nil)
	c := h.login("moces")
	if err := c.Type(ftp.TransferTypeASCII); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload("/FTPSGW.Heartbeat/ascii_1.txt", []byte("line1\r\nline2\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Type(ftp.TransferTypeBinary); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload("/FTPSGW.Heartbeat/binary_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	subs := h.submissions("")
	if len(subs) != 2 || !subs[0].ASCII || subs[1].ASCII {
		t.Fatalf("ASCII flags: %+v", subs)
	}
}

// A TLS data connection that ends with a bare TCP FIN, at a record boundary, looks like a
// whole file to crypto/tls. With close_notify: required (the default) it is refused, nothing
// is recorded and the name stays free; the same upload closed properly is accepted. With
// close_notify: optional the truncated upload is accepted.
func TestTruncatedUploadRefused(t *testing.T) {
	for _, mode := range []simulator.CloseNotifyMode{simulator.CloseNotifyRequired, simulator.CloseNotifyOptional} {
		t.Run(string(mode), func(t *testing.T) {
			h := start(t, func(c *simulator.Config) { c.CloseNotify = mode })
			r := h.rawLogin("moces")
			store := func(closeNotify bool) (int, string) {
				t.Helper()
				data, err := r.OpenData(ctx(t), true)
				if err != nil {
					t.Fatal(err)
				}
				if code, msg, err := r.Cmd("STOR /FTPSGW.Heartbeat/cut_001.txt"); err != nil || (code != 150 && code != 125) {
					t.Fatalf("STOR: %d %s %v", code, msg, err)
				}
				if _, err := data.Write([]byte("the first half of a file")); err != nil {
					t.Fatal(err)
				}
				if closeNotify {
					data.Close()
				} else {
					data.(*tls.Conn).NetConn().Close() // TCP FIN, no alert
				}
				code, msg, err := r.ReadReply()
				if err != nil {
					t.Fatal(err)
				}
				return code, msg
			}
			code, msg := store(false)
			subs := h.submissions("")
			if mode == simulator.CloseNotifyOptional {
				if code != 226 || len(subs) != 1 {
					t.Fatalf("optional: %d %s, %d submissions", code, msg, len(subs))
				}
				return
			}
			if code != 550 || !strings.Contains(msg, "without a TLS close_notify") || len(subs) != 0 {
				t.Fatalf("a truncated upload: %d %s, %d submissions", code, msg, len(subs))
			}
			if e, ok := h.findEvent(simulator.EventUpload, "close_notify"); !ok || e.OK {
				t.Errorf("journal: %+v", e)
			}
			if code, msg := store(true); code != 226 || len(h.submissions("")) != 1 {
				t.Errorf("the same name closed properly: %d %s", code, msg)
			}
		})
	}
}

// A CRS folder takes [CVR]_[id of at most 25 characters] (names.services preset crs).
func TestCRSNameRule(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.Names.Services["eKapital.Rente.Udlaan"] = "crs" })
	c := h.login("moces")
	for name, ok := range map[string]bool{
		"19552101_" + strings.Repeat("x", 25) + ".xml": true,
		"19552101_crs-2026_01.xml":                     true,
		"val_19552101_check.xml":                       true, // the val_ rule
		"19552101_" + strings.Repeat("x", 26) + ".xml": false,
		"crs_2026_01.xml":                              false,
		"1955210_x.xml":                                false,
	} {
		err := c.Upload("/eKapital.Rente.Udlaan/"+name, []byte("x"))
		if (err == nil) != ok {
			t.Errorf("%s: %v, want accepted=%v", name, err, ok)
		}
	}
}

// TestBadBytesInANameAreABadName: a NUL, a control character, a backslash or '%' in the name
// of a file in the client's own service folder is refused as a bad file name (553), not as a
// folder that does not exist (550).
func TestBadBytesInANameAreABadName(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	for _, name := range []string{"a\x00b.txt", "a\x01b.txt", "a\\b.txt", "a%2e.txt", "\xff\xfe.txt"} {
		data, err := r.OpenData(ctx(t), true)
		if err != nil {
			t.Fatal(err)
		}
		code, msg, _ := r.Cmd("STOR /FTPSGW.Heartbeat/%s", name)
		data.Close()
		if code != 553 || !strings.Contains(msg, "file name") {
			t.Errorf("STOR %q: %d %s, want 553 naming the file name", name, code, msg)
		}
		if code == 150 {
			r.ReadReply()
		}
	}
	// A folder that is not the client's stays "not found", whatever the name.
	data, _ := r.OpenData(ctx(t), true)
	code, _, _ := r.Cmd("STOR /Told.Import/a\x00b.txt")
	data.Close()
	if code != 550 {
		t.Errorf("STOR into a folder that is not the client's: %d, want 550", code)
	}
}
