package steps

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// Suite binds the step definitions to one target.
type Suite struct {
	profile *Profile
	api     *control.Client
	virtual bool   // the target's clock is virtual
	runID   string // makes this run's file names unique
	counter atomic.Int64
	results *collector
	adapter *Adapter // set for client certification
}

// NewSuite prepares a suite for a target; it asks the control API (if any) for its clock.
func NewSuite(ctx context.Context, p *Profile) (*Suite, error) {
	s := &Suite{profile: p, runID: randomLetters(8), results: newCollector()}
	if p.Control != nil {
		s.api = control.NewClient(p.Control.URL, p.Control.Token)
		s.api.Timeout = time.Duration(p.Timeouts.Operation)
		clock, err := s.api.Clock(ctx)
		if err != nil {
			return nil, fmt.Errorf("control API %s: %w", p.Control.URL, err)
		}
		s.virtual = clock.Mode == "virtual"
	}
	return s, nil
}

func (s *Suite) next() int64 { return s.counter.Add(1) }

type worldKey struct{}

func getWorld(ctx context.Context) *world { return ctx.Value(worldKey{}).(*world) }

// InitializeScenario registers every step and the hooks that give each scenario a fresh
// world, reset a controllable target around @needs-control scenarios, and record results.
func (s *Suite) InitializeScenario(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
		w := &world{suite: s, ctx: ctx, clients: map[string]*ftpsclient.Client{}, receipts: map[int]string{}, roles: map[string][]string{}}
		ctx = context.WithValue(ctx, worldKey{}, w)
		s.results.begin(scn, w)
		if hasTag(scn, "@needs-control") {
			if s.api == nil {
				return ctx, w.unsupportedf("the target has no control API, and this scenario must put it into a state")
			}
			if err := s.api.Reset(ctx); err != nil {
				return ctx, fmt.Errorf("resetting the target: %w", err)
			}
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, scn *godog.Scenario, err error) (context.Context, error) {
		w := getWorld(ctx)
		w.close()
		if hasTag(scn, "@needs-control") && s.api != nil {
			// Leave no outage or changed role behind for the next scenario.
			if rerr := s.api.Reset(context.Background()); rerr != nil {
				return ctx, fmt.Errorf("resetting the target after the scenario: %w", rerr)
			}
		}
		s.results.end(scn)
		return ctx, nil
	})
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		s.results.step(ctx, st, status, err)
		return ctx, nil
	})

	w := func(ctx context.Context) *world { return getWorld(ctx) }

	// --- TLS -----------------------------------------------------------------------------
	sc.Step(`^"([^"]*)" connects offering only TLS (1\.[0-3])$`, func(ctx context.Context, who, version string) error {
		return w(ctx).connectOffering(who, version)
	})
	sc.Step(`^the TLS handshake succeeds with TLS 1\.2 and an AEAD cipher suite$`, func(ctx context.Context) error {
		x := w(ctx)
		if x.tlsErr != nil {
			return expected("a TLS 1.2 handshake", "%v", x.tlsErr)
		}
		if !strings.HasPrefix(x.tlsState, "TLS1.2 ") || !(strings.Contains(x.tlsState, "GCM") || strings.Contains(x.tlsState, "CHACHA20")) {
			return expected("TLS 1.2 with an AEAD (GCM or ChaCha20-Poly1305) suite", "%s", x.tlsState)
		}
		return nil
	})
	sc.Step(`^the TLS handshake is refused$`, func(ctx context.Context) error {
		x := w(ctx)
		if x.tlsErr == nil {
			return expected("the handshake to fail", "it succeeded: %s", x.tlsState)
		}
		return nil
	})
	sc.Step(`^a client without a certificate tries to log in as "([^"]*)"$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		return x.tryLogin("", id.Username, id.Password)
	})
	sc.Step(`^"([^"]*)" tries to log in with its password$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		return x.tryLogin(who, id.Username, id.Password)
	})
	sc.Step(`^"([^"]*)" tries to log in with a wrong password$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		return x.tryLogin(who, id.Username, id.Password+"-wrong")
	})
	sc.Step(`^"([^"]*)" tries to log in as "([^"]*)" with that certificate's password$`, func(ctx context.Context, who, as string) error {
		x := w(ctx)
		_, other, err := x.options(as)
		if err != nil {
			return err
		}
		return x.tryLogin(who, other.Username, other.Password)
	})
	sc.Step(`^the connection is refused$`, func(ctx context.Context) error { return w(ctx).refused("the connection") })
	sc.Step(`^the login is refused$`, func(ctx context.Context) error { return w(ctx).refused("the login") })
	sc.Step(`^the login succeeds$`, func(ctx context.Context) error {
		x := w(ctx)
		if x.tlsErr != nil || x.loginCode != 230 {
			return expected("230 after PASS", "TLS %v, reply %d %s %v", x.tlsErr, x.loginCode, x.loginMsg, x.loginErr)
		}
		return nil
	})

	// --- sessions and uploads -----------------------------------------------------------
	sc.Step(`^"([^"]*)" is logged in$`, func(ctx context.Context, who string) error {
		_, err := w(ctx).fresh(who)
		return err
	})
	sc.Step(`^"([^"]*)" is logged in on a raw connection$`, func(ctx context.Context, who string) error {
		_, err := w(ctx).rawLogin(who)
		return err
	})
	upload := func(ctx context.Context, who, service string) error {
		x := w(ctx)
		return x.uploadAs(who, service, x.newName(""), []byte("ftpsgw conformance upload\r\n"))
	}
	sc.Step(`^"([^"]*)" uploads a new file to "([^"]*)"$`, upload)
	sc.Step(`^"([^"]*)" has uploaded a new file to "([^"]*)"$`, func(ctx context.Context, who, service string) error {
		if err := upload(ctx, who, service); err != nil {
			return err
		}
		if u := w(ctx).upload; u.err != nil {
			return expected("the upload to be accepted", "%v", u.err)
		}
		return nil
	})
	sc.Step(`^"([^"]*)" uploads (\d+) new files to "([^"]*)"$`, func(ctx context.Context, who string, n int, service string) error {
		for range n {
			if err := upload(ctx, who, service); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^"([^"]*)" uploads a file named "([^"]*)" to "([^"]*)"$`, func(ctx context.Context, who, name, service string) error {
		x := w(ctx)
		name = expandName(name)
		return x.uploadAs(who, service, name, []byte("x\r\n"))
	})
	sc.Step(`^"([^"]*)" uploads a new file named with the prefix "([^"]*)" to "([^"]*)"$`, func(ctx context.Context, who, prefix, service string) error {
		x := w(ctx)
		return x.uploadAs(who, service, x.newName(prefix), []byte("x\r\n"))
	})
	sc.Step(`^"([^"]*)" uploads a file with the same name to "([^"]*)"$`, func(ctx context.Context, who, service string) error {
		x := w(ctx)
		f, err := x.lastFile()
		if err != nil {
			return err
		}
		return x.uploadAs(who, service, f.name, []byte("the same name again\r\n"))
	})
	sc.Step(`^the upload is accepted$`, func(ctx context.Context) error {
		if u := w(ctx).upload; u.err != nil {
			return expected("226 for the upload", "%v", u.err)
		}
		return nil
	})
	sc.Step(`^every upload is accepted$`, func(ctx context.Context) error {
		for _, f := range w(ctx).files {
			if f.err != nil {
				return expected("226 for "+f.name, "%v", f.err)
			}
		}
		return nil
	})
	sc.Step(`^the upload is refused$`, func(ctx context.Context) error {
		if u := w(ctx).upload; u.err == nil && !isRefused(u.code) {
			return expected("the upload to be refused", "226")
		}
		return nil
	})
	sc.Step(`^every data connection used TLS 1\.2$`, func(ctx context.Context) error {
		return w(ctx).eachDataTLS(func(st tls.ConnectionState) error {
			if st.Version != tls.VersionTLS12 || !st.HandshakeComplete {
				return expected("a completed TLS 1.2 handshake", "version %x, complete %v", st.Version, st.HandshakeComplete)
			}
			return nil
		})
	})
	sc.Step(`^every data connection resumed the control connection's TLS session$`, func(ctx context.Context) error {
		return w(ctx).eachDataTLS(func(st tls.ConnectionState) error {
			if !st.DidResume {
				return expected("the data connection to resume the control connection's session", "a full handshake")
			}
			return nil
		})
	})

	// --- data protection ----------------------------------------------------------------
	sc.Step(`^"([^"]*)" turns data protection off with PROT C$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		code, msg, err := x.raw.Cmd("PROT C")
		x.note("PROT C -> %d %s", code, msg)
		return err
	})
	sc.Step(`^an upload over a clear data connection is refused$`, func(ctx context.Context) error {
		return w(ctx).clearTransfer("STOR /FTPSGW.Heartbeat/"+w(ctx).newName(""), true)
	})
	sc.Step(`^a listing over a clear data connection is refused$`, func(ctx context.Context) error {
		return w(ctx).clearTransfer("LIST /", false)
	})
	sc.Step(`^no data flowed in clear$`, func(ctx context.Context) error {
		if n := w(ctx).clearData; n > 0 {
			return expected("no byte on a clear data connection", "%d bytes", n)
		}
		return nil
	})
	sc.Step(`^"([^"]*)" uploads over a data connection with a fresh TLS session$`, func(ctx context.Context, who string) error {
		return w(ctx).uploadFreshSession(who)
	})

	// --- identities ---------------------------------------------------------------------
	sc.Step(`^the username of "([^"]*)" is made from its certificate$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		_, cert, _ := x.suite.profile.Identity(who)
		got, err := certs.FromCertificate(cert.Leaf)
		if err != nil {
			return expected("an OCES identity in the certificate of "+who, "%v", err)
		}
		x.note("%s: certificate %s -> username %s", who, got, got.Username())
		if got.Username() != id.Username {
			return expected("the profile's username "+id.Username, "the certificate gives %s", got.Username())
		}
		return nil
	})
	sc.Step(`^"([^"]*)" has the same CVR as "([^"]*)"$`, func(ctx context.Context, a, b string) error {
		x := w(ctx)
		_, ca, ok1 := x.suite.profile.Identity(a)
		_, cb, ok2 := x.suite.profile.Identity(b)
		if !ok1 || !ok2 {
			return x.unsupportedf("the profile lacks %q or %q", a, b)
		}
		ia, _ := certs.FromCertificate(ca.Leaf)
		ib, _ := certs.FromCertificate(cb.Leaf)
		if ia.CVR == "" || ia.CVR != ib.CVR {
			return x.unsupportedf("the profile's %s (CVR %s) and %s (CVR %s) do not share a CVR", a, ia.CVR, b, ib.CVR)
		}
		return nil
	})
	sc.Step(`^the registration of "([^"]*)" is removed$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		api, err := x.api()
		if err != nil {
			return err
		}
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		return api.Unregister(ctx, id.Username)
	})

	// --- folders ------------------------------------------------------------------------
	sc.Step(`^the root folder lists exactly "out" and the service folders of "([^"]*)"$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		got, err := x.rootNames(who, false)
		if err != nil {
			return err
		}
		want := append([]string{"out"}, id.Folders...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return expected(fmt.Sprint(want), "%v", got)
		}
		return nil
	})
	sc.Step(`^"([^"]*)" cannot be reached$`, func(ctx context.Context, path string) error {
		return w(ctx).unreachable(path)
	})
	sc.Step(`^"([^"]*)" (does not see|sees) the folder "([^"]*)"$`, func(ctx context.Context, who, sees, folder string) error {
		x := w(ctx)
		got, err := x.rootNames(who, true)
		if err != nil {
			return err
		}
		if present := slices.Contains(got, folder); present != (sees == "sees") {
			return expected(fmt.Sprintf("%s %s %s", who, sees, folder), "root %v", got)
		}
		return nil
	})
	sc.Step(`^"([^"]*)" can log in and sees the folders of its last replicated roles$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		_, id, err := x.options(who)
		if err != nil {
			return err
		}
		got, err := x.rootNames(who, true)
		if err != nil {
			return err
		}
		// Exactly which folders show is GW-DIR-01's; here only the last replica must be kept.
		for _, f := range id.Folders {
			if !slices.Contains(got, f) {
				return expected(fmt.Sprintf("the folders %v of the last replication", id.Folders), "%v", got)
			}
		}
		return nil
	})
	sc.Step(`^the security system (grants "([^"]*)" the role|takes the role "([^"]*)" from) "([^"]*)"$`, func(ctx context.Context, phrase, who1, role1, last string) error {
		x := w(ctx)
		who, role := who1, last
		if who == "" {
			who, role = last, role1
		}
		return x.changeRole(who, role, strings.HasPrefix(phrase, "grants"))
	})
	sc.Step(`^the security system (is unreachable|becomes reachable)$`, func(ctx context.Context, state string) error {
		x := w(ctx)
		api, err := x.api()
		if err != nil {
			return err
		}
		return api.SetSecurityReachable(ctx, state == "becomes reachable")
	})

	// --- time and backend ---------------------------------------------------------------
	sc.Step(`^(\d+) (minute|minutes|hour|hours|day|days) pass(?:es)?$`, func(ctx context.Context, n int, unit string) error {
		d := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(unit, "s")]
		return w(ctx).advance(time.Duration(n) * d)
	})
	sc.Step(`^the backend (is down|comes back)$`, func(ctx context.Context, state string) error {
		x := w(ctx)
		api, err := x.api()
		if err != nil {
			return err
		}
		return api.SetBackendUp(ctx, state == "comes back")
	})
	sc.Step(`^the backend rejects files in "([^"]*)" with "([^"]*)"$`, func(ctx context.Context, service, code string) error {
		x := w(ctx)
		api, err := x.api()
		if err != nil {
			return err
		}
		_, err = api.SetBackend(ctx, control.Backend{Services: map[string]control.ServiceRule{
			service: {Action: "reject", ErrorCode: code, ErrorMessage: "rejected by the conformance suite", Delay: "1s"}}})
		return err
	})
	sc.Step(`^the backend answers files in "([^"]*)" with a reply file$`, func(ctx context.Context, service string) error {
		x := w(ctx)
		api, err := x.api()
		if err != nil {
			return err
		}
		_, err = api.SetBackend(ctx, control.Backend{Services: map[string]control.ServiceRule{
			service: {Action: "accept", Delay: "1s", Reply: true, ExposeDelay: "1s"}}})
		return err
	})

	// --- receipts -----------------------------------------------------------------------
	receive := func(ctx context.Context, who, list string) error {
		x := w(ctx)
		f, err := x.lastFile()
		if err != nil {
			return err
		}
		return x.waitReceipts(f, parseCodes(list)...)
	}
	sc.Step(`^"([^"]*)" (?:receives|has received) receipts? ([0-3](?:(?:, | and )[0-3])*) for it$`, receive)
	sc.Step(`^each of them receives receipts ([0-3](?:(?:, | and )[0-3])*)$`, func(ctx context.Context, list string) error {
		x := w(ctx)
		for _, f := range x.files {
			if err := x.waitReceipts(f, parseCodes(list)...); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^every receipt for it is named status_<service>_<file>_<code>\.xml$`, func(ctx context.Context) error {
		x := w(ctx)
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
	})
	sc.Step(`^every receipt for it carries the published XML elements$`, func(ctx context.Context) error {
		x := w(ctx)
		f, _ := x.lastFile()
		for code, content := range x.receipts {
			if err := checkPublished(content, f); err != nil {
				return fmt.Errorf("receipt %d: %w", code, err)
			}
		}
		return nil
	})
	sc.Step(`^receipt 1 is not later than receipt 2$`, func(ctx context.Context) error {
		x := w(ctx)
		a, err1 := parseReceipt(x.receipts[1])
		b, err2 := parseReceipt(x.receipts[2])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		t1, t2 := a.text["status/file/timestamp"], b.text["status/file/timestamp"]
		if t1 > t2 {
			return expected("receipt 1's timestamp <= receipt 2's", "%s > %s", t1, t2)
		}
		return nil
	})
	sc.Step(`^no receipt 0 came for it$`, func(ctx context.Context) error {
		x := w(ctx)
		f, _ := x.lastFile()
		list, err := x.listOut(f.who)
		if err != nil {
			return err
		}
		if slices.Contains(list, receiptName(f.service, f.name, 0)) {
			return expected("no status_0 for "+f.name, "%s in /out", receiptName(f.service, f.name, 0))
		}
		return nil
	})
	sc.Step(`^no receipt has arrived for (?:it|them)$`, func(ctx context.Context) error {
		x := w(ctx)
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
	})
	sc.Step(`^receipt 0 carries the error code "([^"]*)"$`, func(ctx context.Context, code string) error {
		sf, err := parseReceipt(w(ctx).receipts[0])
		if err != nil {
			return err
		}
		if sf.errorCode != code {
			return expected("Error.code "+code, "%q", sf.errorCode)
		}
		return nil
	})
	sc.Step(`^receipt 3 names a reply file that "([^"]*)" can download from /out$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		sf, err := parseReceipt(x.receipts[3])
		if err != nil {
			return err
		}
		if sf.response == "" {
			return expected("Response/Filename in receipt 3", "none")
		}
		c, err := x.login(who)
		if err != nil {
			return err
		}
		if _, err := c.Download("/out/" + sf.response); err != nil {
			return expected("the reply file /out/"+sf.response, "%v", err)
		}
		return nil
	})
	sc.Step(`^"([^"]*)" does not see that receipt in its /out$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		f, _ := x.lastFile()
		list, err := x.listOut(who)
		if err != nil {
			return err
		}
		if got := receiptsFor(list, f); len(got) > 0 {
			return expected(who+" to see none of "+f.who+"'s receipts", "%v in its /out", got)
		}
		return nil
	})
	sc.Step(`^"([^"]*)" cannot download that receipt$`, func(ctx context.Context, who string) error {
		x := w(ctx)
		f, _ := x.lastFile()
		c, err := x.login(who)
		if err != nil {
			return err
		}
		name := receiptName(f.service, f.name, 1)
		if data, err := c.Download("/out/" + name); err == nil {
			return expected(who+" to be refused RETR /out/"+name, "%d bytes", len(data))
		}
		return nil
	})
	sc.Step(`^the receipts for it are (still in|gone from) the /out of "([^"]*)"$`, func(ctx context.Context, state, who string) error {
		x := w(ctx)
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
	})
	sc.Step(`^that submission is rejected as FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION$`, func(ctx context.Context) error {
		return w(ctx).rejected("FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION")
	})
	sc.Step(`^that submission is rejected$`, func(ctx context.Context) error { return w(ctx).rejected("") })
	sc.Step(`^their receipts 1 came in upload order$`, func(ctx context.Context) error { return w(ctx).receiptOrder() })

	// --- network ------------------------------------------------------------------------
	sc.Step(`^"([^"]*)" asks for a passive data connection (\d+) times$`, func(ctx context.Context, who string, n int) error {
		x := w(ctx)
		for range n {
			code, msg, err := x.raw.Cmd("EPSV")
			if err != nil {
				return err
			}
			if code != 229 {
				return expected("229 to EPSV", "%d %s", code, msg)
			}
			i := strings.Index(msg, "(|||")
			port, _ := strconv.Atoi(strings.TrimSuffix(msg[i+4:], "|)"))
			if i < 0 || port == 0 {
				return expected("a port in the EPSV reply", "%q", msg)
			}
			x.ports = append(x.ports, port)
		}
		x.note("passive ports offered: %v", x.ports)
		return nil
	})
	sc.Step(`^every port offered is in the published passive range$`, func(ctx context.Context) error {
		x := w(ctx)
		lo, hi, _ := parseRange(x.suite.profile.PassivePorts)
		for _, p := range x.ports {
			if p < lo || p > hi {
				return expected(fmt.Sprintf("ports in %d-%d", lo, hi), "%v", x.ports)
			}
		}
		return nil
	})
	sc.Step(`^"([^"]*)" sends "([^"]*)"$`, func(ctx context.Context, who, cmd string) error {
		x := w(ctx)
		code, msg, err := x.raw.Cmd("%s", cmd)
		x.cmdCode, x.cmdMsg = code, msg
		x.note("%s -> %d %s", cmd, code, msg)
		return err
	})
	sc.Step(`^the command is refused$`, func(ctx context.Context) error {
		x := w(ctx)
		if !isRefused(x.cmdCode) {
			return expected("a 4xx or 5xx reply", "%d %s", x.cmdCode, x.cmdMsg)
		}
		return nil
	})
}

func hasTag(scn *godog.Scenario, tag string) bool {
	for _, t := range scn.Tags {
		if t.Name == tag {
			return true
		}
	}
	return false
}

var lettersRe = regexp.MustCompile(`\{(\d+) letters\}`)

// expandName turns "{79 letters}.txt" into 79 random letters plus ".txt".
func expandName(name string) string {
	return lettersRe.ReplaceAllStringFunc(name, func(m string) string {
		n, _ := strconv.Atoi(lettersRe.FindStringSubmatch(m)[1])
		return randomLetters(n)
	})
}

func parseCodes(list string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// connectOffering connects as who, offering exactly one TLS version.
func (w *world) connectOffering(who, version string) error {
	opts, _, err := w.options(who)
	if err != nil {
		return err
	}
	v := map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}[version]
	opts.MinVersion, opts.MaxVersion = v, v
	if opts.Implicit {
		r, err := ftpsclient.DialRaw(w.ctx, opts)
		w.tlsErr = err
		if err == nil {
			st, _ := r.ConnectionState()
			w.tlsState = describeTLS(st)
			r.Close()
		}
		w.note("TLS %s offered: %s %v", version, w.tlsState, w.tlsErr)
		return nil
	}
	r, err := ftpsclient.DialRaw(w.ctx, opts)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer r.Close()
	st, err := r.AuthTLS(w.ctx)
	if err == nil {
		// TLS 1.2: a server may refuse after the client finished; one command makes sure.
		if _, _, cmdErr := r.Cmd("NOOP"); cmdErr != nil {
			err = cmdErr
		}
	}
	w.tlsErr = err
	if err == nil {
		w.tlsState = describeTLS(st)
	}
	w.note("TLS %s offered: %s %v", version, w.tlsState, w.tlsErr)
	return nil
}

func describeTLS(st tls.ConnectionState) string {
	v := map[uint16]string{tls.VersionTLS10: "TLS1.0", tls.VersionTLS11: "TLS1.1", tls.VersionTLS12: "TLS1.2", tls.VersionTLS13: "TLS1.3"}[st.Version]
	return v + " " + tls.CipherSuiteName(st.CipherSuite)
}

// tryLogin connects with the certificate of certOf ("" for none) and logs in.
func (w *world) tryLogin(certOf, user, pass string) error {
	opts, _, err := w.options(certOf)
	if err != nil {
		return err
	}
	w.tlsErr, w.loginCode, w.loginMsg, w.loginErr = nil, 0, "", nil
	r, err := ftpsclient.DialRaw(w.ctx, opts)
	if err != nil {
		if opts.Implicit {
			w.tlsErr = err
			w.note("implicit TLS handshake: %v", err)
			return nil
		}
		return fmt.Errorf("connecting: %w", err)
	}
	defer r.Close()
	if !opts.Implicit {
		st, err := r.AuthTLS(w.ctx)
		if err != nil {
			w.tlsErr = err
			w.note("TLS handshake refused: %v", err)
			return nil
		}
		w.tlsState = describeTLS(st)
	}
	code, msg, err := r.Login(user, pass)
	w.loginCode, w.loginMsg, w.loginErr = code, msg, err
	w.note("login as %s with the certificate of %q: %d %s %v", user, certOf, code, msg, err)
	return nil
}

// refused passes when the last attempt failed in the handshake, by a 4xx/5xx reply, or by
// the server closing the connection.
func (w *world) refused(what string) error {
	switch {
	case w.tlsErr != nil:
		return nil
	case w.loginErr != nil:
		return nil // the server hung up (a TLS 1.2 certificate refusal shows here)
	case isRefused(w.loginCode):
		return nil
	}
	return expected(what+" to be refused", "%d %s (TLS %s)", w.loginCode, w.loginMsg, w.tlsState)
}

func (w *world) eachDataTLS(check func(tls.ConnectionState) error) error {
	var states []tls.ConnectionState
	for _, c := range w.clients {
		states = append(states, c.DataTLS()...)
	}
	if len(states) == 0 {
		return expected("at least one data connection", "none")
	}
	for i, st := range states {
		w.note("data connection %d: %s resumed=%v", i+1, describeTLS(st), st.DidResume)
		if err := check(st); err != nil {
			return fmt.Errorf("data connection %d: %w", i+1, err)
		}
	}
	return nil
}

// clearTransfer runs a command over a data connection without TLS and counts clear bytes.
func (w *world) clearTransfer(cmd string, upload bool) error {
	r := w.raw
	data, err := r.OpenData(w.ctx, false)
	if err != nil {
		return err
	}
	defer data.Close()
	code, msg, err := r.Cmd("%s", cmd)
	if err != nil {
		return err
	}
	w.note("%s over a clear data connection -> %d %s", cmd, code, msg)
	if isRefused(code) {
		return nil
	}
	if upload {
		n, _ := data.Write([]byte("clear text payload\r\n"))
		data.Close()
		final, fmsg, _ := r.ReadReply()
		w.note("after sending %d bytes in clear: %d %s", n, final, fmsg)
		if !isRefused(final) {
			w.clearData += n
			return expected(cmd+" to be refused", "%d then %d: the file was accepted over a clear connection", code, final)
		}
		return nil
	}
	_ = data.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(data)
	w.clearData += len(b)
	final, _, _ := r.ReadReply()
	if len(b) > 0 || !isRefused(final) {
		return expected(cmd+" to be refused", "%d, %d bytes in clear, then %d", code, len(b), final)
	}
	return nil
}

// uploadFreshSession uploads over a data connection whose TLS session is not the control's.
func (w *world) uploadFreshSession(who string) error {
	r := w.raw
	opts, _, err := w.options(who)
	if err != nil {
		return err
	}
	conn, err := r.OpenData(w.ctx, false)
	if err != nil {
		return err
	}
	tc := tls.Client(conn, opts.TLSConfig()) // a new session cache: nothing to resume
	defer tc.Close()
	name := "/FTPSGW.Heartbeat/" + w.newName("")
	code, msg, err := r.Cmd("STOR %s", name)
	if err != nil {
		return err
	}
	w.upload = uploadResult{code: code}
	if isRefused(code) {
		w.upload.err = fmt.Errorf("%d %s", code, msg)
		return nil
	}
	_, werr := tc.Write([]byte("fresh session\r\n"))
	tc.Close()
	final, fmsg, _ := r.ReadReply()
	w.note("STOR over a fresh TLS session: %d %s; write %v; then %d %s", code, msg, werr, final, fmsg)
	if isRefused(final) || werr != nil {
		w.upload = uploadResult{err: fmt.Errorf("%d %s", final, fmsg), code: final}
	}
	return nil
}

// rootNames lists "/" for an identity; fresh makes a new login first.
func (w *world) rootNames(who string, fresh bool) ([]string, error) {
	get := w.login
	if fresh {
		get = w.fresh
	}
	c, err := get(who)
	if err != nil {
		return nil, err
	}
	entries, err := c.List("/")
	if err != nil {
		return nil, fmt.Errorf("LIST / as %s: %w", who, err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimPrefix(e.Name, "/"))
	}
	slices.Sort(out)
	w.note("LIST / as %s: %v", who, out)
	return out, nil
}

// unreachable checks that CWD and MLST of a path fail and leave the session where it was.
func (w *world) unreachable(path string) error {
	r := w.raw
	for _, cmd := range []string{"CWD", "MLST", "SIZE"} {
		code, msg, err := r.Cmd("%s %s", cmd, path)
		if err != nil {
			return err
		}
		w.note("%s %s -> %d %s", cmd, path, code, msg)
		if !isRefused(code) {
			return expected(cmd+" "+path+" to fail", "%d %s", code, msg)
		}
	}
	code, msg, _ := r.Cmd("PWD")
	if code != 257 || !strings.Contains(msg, `"/"`) {
		return expected(`the session to stay in "/"`, "PWD %d %s", code, msg)
	}
	return nil
}

func (w *world) changeRole(who, role string, grant bool) error {
	api, err := w.api()
	if err != nil {
		return err
	}
	_, id, err := w.options(who)
	if err != nil {
		return err
	}
	roles, ok := w.roles[who]
	if !ok {
		roles = slices.Clone(id.Folders)
	}
	if grant && !slices.Contains(roles, role) {
		roles = append(roles, role)
	}
	if !grant {
		roles = slices.DeleteFunc(roles, func(r string) bool { return r == role })
	}
	w.roles[who] = roles
	return api.SetRoles(w.ctx, id.Username, roles)
}

// rejected passes when the last upload was refused at once (4xx/5xx), or a status_0 for
// it arrives (with the given error code, when one is given). A missing status_0 is never
// taken for success.
func (w *world) rejected(code string) error {
	f, err := w.lastFile()
	if err != nil {
		return err
	}
	if f.err != nil {
		if c := ftpsclient.Code(f.err); isRefused(c) {
			if code != "" && !strings.Contains(f.err.Error(), code) {
				w.note("refused at once without naming %s: %v (accepted as a rejection)", code, f.err)
			}
			return nil
		}
		return expected("a 4xx/5xx refusal or a status_0", "%v", f.err)
	}
	if err := w.waitReceipts(f, 0); err != nil {
		return fmt.Errorf("the upload was accepted (226), so a status_0 must follow: %w", err)
	}
	if code == "" {
		return nil
	}
	sf, err := parseReceipt(w.receipts[0])
	if err != nil {
		return err
	}
	if sf.errorCode != code {
		return expected("Error.code "+code, "%q", sf.errorCode)
	}
	return nil
}

// receiptOrder checks that receipts 1 of the uploaded files came in upload order: by the
// gateway's journal when the target has a control API, else by their timestamps.
func (w *world) receiptOrder() error {
	if w.suite.api != nil {
		j, err := w.suite.api.Journal(w.ctx, control.JournalQuery{Types: []control.EventType{control.EventReceipt}})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range j.Events {
			for _, f := range w.files {
				if strings.HasSuffix(e.Path, "/"+receiptName(f.service, f.name, 1)) {
					seen = append(seen, f.name)
				}
			}
		}
		var want []string
		for _, f := range w.files {
			want = append(want, f.name)
		}
		if !slices.Equal(seen, want) {
			return expected(fmt.Sprint(want), "receipts 1 in the order %v", seen)
		}
		return nil
	}
	prev := ""
	for _, f := range w.files {
		c, err := w.login(f.who)
		if err != nil {
			return err
		}
		data, err := c.Download("/out/" + receiptName(f.service, f.name, 1))
		if err != nil {
			return err
		}
		sf, err := parseReceipt(string(data))
		if err != nil {
			return err
		}
		ts := sf.text["status/file/timestamp"]
		if ts < prev {
			return expected("timestamps of receipts 1 in upload order", "%s after %s", ts, prev)
		}
		prev = ts
	}
	return nil
}
