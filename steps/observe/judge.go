package observe

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/clientjudge"
)

func verbArg(line string) (string, string) {
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	return strings.ToUpper(verb), strings.TrimSpace(arg)
}

func containsOut(arg string) bool {
	arg = strings.Trim(arg, "/")
	return arg == "out" || strings.HasPrefix(arg, "out/")
}

// verdict is one requirement's judgement: nil (kept), a *clientjudge.NotExercised (with
// what the product would have to do), or another error (broken).
type verdict struct {
	err      error
	todo     string // for NOT EXERCISED: what the product would have to do
	evidence []string
}

func kept(evidence ...string) verdict { return verdict{evidence: evidence} }

func notExercised(todo string, evidence ...string) verdict {
	return verdict{err: &clientjudge.NotExercised{Missing: todo}, todo: todo, evidence: evidence}
}

func broken(err error, evidence ...string) verdict { return verdict{err: err, evidence: evidence} }

// first returns the first rule's answer that is not nil, preferring a broken rule to a
// not-exercised one.
func first(errs ...error) error {
	var ne error
	for _, err := range errs {
		switch {
		case err == nil:
		case clientjudge.IsNotExercised(err):
			if ne == nil {
				ne = err
			}
		default:
			return err
		}
	}
	return ne
}

// Judge turns an observation into a client certification run: one scenario per client
// requirement ("observed: <title>"), PASS, FAIL, WARN (a SHOULD) or NOT EXERCISED.
func Judge(obs *Observation, suite *catalogue.Suite, ids []Identity, strict bool) *reports.Run {
	impostor := impostorSessions(obs)
	// the traffic the other rules judge: everything but the impostor connections (and those
	// whose certificate is not known: in their handshake when a case began or ended)
	var genuine []control.Event
	for _, e := range obs.Events {
		if !impostor[e.Session] && !ambiguous(obs, e.Session) {
			genuine = append(genuine, e)
		}
	}
	fps := make([]string, 0, len(ids))
	users := map[string]string{}
	for _, id := range ids {
		fps = append(fps, id.Fingerprint)
		users[id.Fingerprint] = id.Username
	}
	uploads := 0
	for _, e := range genuine {
		if acceptedUpload(e) {
			uploads++
		}
	}
	refused, why := clientjudge.RefusedGenuineCertificate(genuine)

	judge := map[catalogue.ID]verdict{}
	if refused {
		judge["CL-TLS-04"] = broken(clientjudge.Expected("the product to accept the genuine gateway's certificate (the CA in the kit)", "%s", why))
	} else {
		judge["CL-TLS-04"] = judgeImpostors(obs)
	}
	judge["CL-TLS-01"] = ruleVerdict(clientjudge.TLS12WithCertificate(genuine, fps...), "connect with TLS 1.2 and one of the kit's certificates")
	judge["CL-TLS-02"] = ruleVerdict(first(clientjudge.ProtPBeforeTransfers(genuine), clientjudge.NoActiveMode(genuine),
		clientjudge.DataTLS(genuine), clientjudge.CloseNotify(genuine)), "upload a file (PROT P, passive mode, TLS data connection ended with close_notify)")
	judge["CL-TLS-03"] = ruleVerdict(clientjudge.DataResumed(genuine), "open a data connection (an upload or a listing)")
	judge["CL-AUTH-01"] = ruleVerdict(clientjudge.OwnUsername(genuine, users), "log in")
	judge["CL-UP-01"] = judgeUploads(genuine, obs.Cases)
	if uploads < 2 {
		judge["CL-NAME-01"] = notExercised("two submissions or more (a new name each time)", fmt.Sprintf("%d accepted upload(s)", uploads))
	} else {
		judge["CL-NAME-01"] = ruleVerdict(clientjudge.ReusedNames(genuine), "")
	}
	judge["CL-STAT-01"] = judgeReceipts(obs, genuine)
	judge["CL-BACK-01"] = judgeOutage(obs)
	judge["CL-NET-01"] = judgeReconnect(obs)

	run := &reports.Run{Kind: "client", FeaturesHash: suite.Hash, CatalogueHash: suite.CatalogueHash, Started: obs.Started,
		Duration: obs.Ended.Sub(obs.Started), Strict: strict}
	for _, req := range suite.Requirements {
		v, ok := judge[req.ID]
		if !ok {
			v = notExercised("what this requirement asks (the observation has no rule for it yet; certify it with an adapter)")
		}
		eff := req.Level
		if req.Basis == "assumed" && !strict {
			eff = "SHOULD"
		}
		sc := reports.Scenario{Scenario: catalogue.Scenario{File: "observed", Feature: "observed", Name: "observed: " + req.Title,
			Tags: []string{req.ID.Tag(), "@" + strings.ToLower(eff)}},
			Duration: run.Duration, Evidence: v.evidence, Journal: &reports.JournalWindow{From: obs.FirstSeq, To: lastSeq(obs)}}
		rr := reports.Requirement{Requirement: req, Effective: eff}
		switch {
		case v.err == nil:
			sc.Status, rr.Status = reports.Pass, reports.Pass
			sc.Steps = []reports.Step{{Text: "the product's traffic kept this rule", Status: "passed"}}
		case clientjudge.IsNotExercised(v.err):
			sc.Status, rr.Status = reports.NotExercised, reports.NotExercised
			sc.NotRun = "the product's traffic did not exercise it: to exercise it, " + v.todo
			rr.Reason = sc.NotRun
			sc.Steps = []reports.Step{{Text: "the product's traffic exercised this rule", Status: "skipped"}}
		default:
			sc.Status, sc.Failure = reports.Fail, v.err.Error()
			rr.Status = reports.Fail
			if eff != "MUST" {
				rr.Status = reports.Warn
			}
			sc.Steps = []reports.Step{{Text: "the product's traffic kept this rule", Status: "failed", Error: v.err.Error()}}
		}
		rr.Scenarios = []int{len(run.Scenarios)}
		run.Scenarios = append(run.Scenarios, sc)
		run.Requirements = append(run.Requirements, rr)
	}
	return run
}

func lastSeq(obs *Observation) int64 {
	if n := len(obs.Events); n > 0 {
		return obs.Events[n-1].Seq
	}
	return obs.FirstSeq
}

func ruleVerdict(err error, todo string) verdict {
	if clientjudge.IsNotExercised(err) {
		return notExercised(todo)
	}
	if err != nil {
		return broken(err)
	}
	return kept()
}

func ambiguous(obs *Observation, session string) bool {
	for _, c := range obs.Cases {
		if c.Ambiguous[session] {
			return true
		}
	}
	return false
}

// impostorSessions are the connections that were shown an impostor certificate.
func impostorSessions(obs *Observation) map[string]bool {
	out := map[string]bool{}
	for _, c := range obs.Cases {
		for s := range shownImpostor(obs.Events, c, lastSeq(obs)) {
			out[s] = true
		}
	}
	return out
}

// shownImpostor: the sessions an impostor case showed its certificate to. A handshake that
// went through says itself whether it was the impostor's (its journal reason); one that
// failed or never finished, after an AUTH TLS while the case was armed, was shown it (a
// careful product ends the handshake at the impostor, never at the genuine gateway).
func shownImpostor(evs []control.Event, c Case, last int64) map[string]bool {
	out := map[string]bool{}
	if (c.Kind != CaseForeignCA && c.Kind != CaseWrongHost) || c.Armed == 0 {
		return out
	}
	end := c.Done
	if end == 0 {
		end = last
	}
	inWindow := map[string]bool{}
	for _, e := range evs {
		if e.Seq > c.Armed && e.Seq <= end && e.Type == control.EventCommand && isAuth(e.Line) {
			inWindow[e.Session] = true
		}
	}
	tlsOK := map[string]bool{}
	for _, e := range evs {
		if e.Type != control.EventTLS || !inWindow[e.Session] && !strings.Contains(e.Reason, "impostor") {
			continue
		}
		switch {
		case e.OK && strings.Contains(e.Reason, "impostor"):
			out[e.Session] = true
		case e.OK:
			tlsOK[e.Session] = true // the genuine certificate: the case had been put away
		default:
			out[e.Session] = true
		}
	}
	for s := range inWindow {
		if !tlsOK[s] {
			out[s] = true
		}
	}
	for s := range c.Ambiguous {
		delete(out, s)
	}
	return out
}

func judgeImpostors(obs *Observation) verdict {
	var ev []string
	hit := false
	for _, c := range obs.Cases {
		if c.Kind != CaseForeignCA && c.Kind != CaseWrongHost || c.Hit == 0 {
			continue
		}
		hit = true
		sessions := shownImpostor(obs.Events, c, lastSeq(obs))
		var theirs []control.Event
		for _, e := range obs.Events {
			if sessions[e.Session] {
				theirs = append(theirs, e)
			}
		}
		if err := clientjudge.NothingSentAfter(theirs, c.Armed); err != nil && !clientjudge.IsNotExercised(err) {
			return broken(fmt.Errorf("%s: %w", c.Description, err))
		}
		ev = append(ev, c.Description+": the product ended the connection without sending credentials or a file")
	}
	if !hit {
		return notExercised("connect again after its first upload (a second upload, or a receipt poll on a new connection): the gateway shows an impostor certificate on such a connection")
	}
	return kept(ev...)
}

func judgeUploads(evs []control.Event, cases []Case) verdict {
	n := 0
	var ev []string
	// an upload whose data connection met an impostor certificate (a data connection that
	// does not resume its session gets a full handshake, and the impostor's certificate, while
	// the case is armed) was refused by the product, rightly
	duringImpostor := func(e control.Event) bool {
		certAlert := strings.Contains(e.Reason, "remote error: tls:") && (strings.Contains(e.Reason, "certificate") || strings.Contains(e.Reason, "unknown"))
		for _, c := range cases {
			if (c.Kind == CaseForeignCA || c.Kind == CaseWrongHost) && c.Armed != 0 && e.Seq > c.Armed &&
				(c.Done == 0 || e.Seq <= c.Done || certAlert) {
				return true
			}
		}
		return false
	}
	for _, e := range evs {
		if e.Type != control.EventUpload {
			continue
		}
		if !e.OK && (strings.Contains(e.Reason, "fault injected") || duringImpostor(e)) {
			ev = append(ev, fmt.Sprintf("%s refused while the gateway played a case (%s): not the product's doing", e.Path, e.Reason))
			continue
		}
		if !e.OK {
			return broken(clientjudge.Expected("uploads into the folders the certificate may use, with names the gateway accepts", "%s refused: %s", e.Path, e.Reason))
		}
		n++
		mode := "binary"
		if e.ASCII {
			mode = "ASCII"
		}
		ev = append(ev, fmt.Sprintf("%s (%d bytes, %s) accepted", e.Path, e.Size, mode))
	}
	if n == 0 {
		return notExercised("upload a file into one of the kit's folders")
	}
	ev = append(ev, "the transfer mode a fixed-record service requires (ASCII) was judged only if the product uploaded to such a service")
	return kept(ev...)
}

// judgeReceipts: every receipt that was in /out for at least a minute before the end was
// fetched by the product.
func judgeReceipts(obs *Observation, evs []control.Event) verdict {
	fetched := map[string]bool{}
	for _, e := range evs {
		if e.Type == control.EventDownload && e.OK {
			fetched[path.Base(e.Path)] = true
		}
	}
	if len(fetched) == 0 {
		return notExercised("fetch its receipts (status files) from /out")
	}
	var missing, got []string
	for _, r := range obs.Receipts {
		if r.Kind != "receipt" || r.Deleted {
			continue
		}
		if fetched[r.Name] {
			got = append(got, r.Name)
			continue
		}
		if obs.Ended.Sub(r.Created) >= time.Minute {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return broken(clientjudge.Expected("every receipt in /out fetched within a minute", "never fetched: %s", strings.Join(missing, ", ")))
	}
	return kept(append([]string{"fetched: "}, got...)...)
}

// judgeOutage: while the backend was down, the product did not send the same file again
// under another name (a resubmission that makes a second filing).
func judgeOutage(obs *Observation) verdict {
	var c *Case
	for i := range obs.Cases {
		if obs.Cases[i].Kind == CaseBackendDown {
			c = &obs.Cases[i]
		}
	}
	if c == nil || c.Hit == 0 {
		return notExercised("upload a file after its first one (the gateway takes the backend down then, so the receipts come late)")
	}
	bySHA := map[string][]string{}
	at := map[string]time.Time{}
	for _, s := range obs.Submissions {
		bySHA[s.SHA256] = append(bySHA[s.SHA256], s.Name)
		at[s.Name] = s.ReceivedAt
	}
	var hitName string
	for _, e := range obs.Events {
		if e.Seq == c.Hit {
			hitName = path.Base(e.Path)
		}
	}
	for _, s := range obs.Submissions {
		if s.Name != hitName {
			continue
		}
		if names := bySHA[s.SHA256]; len(names) > 1 {
			var again []string
			for _, n := range names {
				if n != hitName && at[n].After(s.ReceivedAt) {
					again = append(again, n)
				}
			}
			if len(again) > 0 {
				return broken(clientjudge.Expected("the product to wait for the late receipts of "+hitName,
					"the same content sent again as %s (a second filing)", strings.Join(again, ", ")))
			}
		}
	}
	return kept(fmt.Sprintf("the backend was down from journal event %d to %d; %s was accepted and not sent again", c.Armed, c.Done, hitName))
}

// judgeReconnect: after the gateway dropped its connection (at login or at an upload), the
// product came back and completed an upload.
func judgeReconnect(obs *Observation) verdict {
	var ev []string
	hit := false
	for _, c := range obs.Cases {
		if (c.Kind != CaseLoginDropped && c.Kind != CaseUploadDropped) || c.Hit == 0 {
			continue
		}
		hit = true
		if c.Recovered == 0 {
			return broken(clientjudge.Expected("the product to connect again and complete its upload after "+c.Description,
				"no accepted upload after the drop (journal event %d) until the observation ended", c.Hit))
		}
		ev = append(ev, fmt.Sprintf("%s: the product came back and its upload was accepted (journal event %d)", c.Description, c.Recovered))
	}
	if !hit {
		return notExercised("log in and upload again after its first upload (the gateway drops one connection at the password and one at an upload)")
	}
	return kept(ev...)
}

// Connected reports whether the product reached the gateway at all.
func Connected(obs *Observation) bool {
	for _, e := range obs.Events {
		if e.Type == control.EventConnect {
			return true
		}
	}
	return false
}

// Describe says what was observed: how long, and the cases in the order they were played.
func Describe(obs *Observation, limit time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "a client product observed for %s (at most %s); cases, one at a time, in this order:", obs.Ended.Sub(obs.Started).Round(time.Second), limit)
	for i, c := range obs.Cases {
		state := "not played (the product did not reach it)"
		switch {
		case c.Hit != 0 && c.Recovered != 0:
			state = fmt.Sprintf("hit at journal event %d; the product's next accepted upload at %d", c.Hit, c.Recovered)
		case c.Hit != 0:
			state = fmt.Sprintf("hit at journal event %d", c.Hit)
		case c.Armed != 0:
			state = fmt.Sprintf("armed at journal event %d, never hit", c.Armed)
		}
		if c.Note != "" {
			state += "; " + c.Note
		}
		fmt.Fprintf(&b, " %d. %s: %s.", i+1, c.Description, state)
	}
	return b.String()
}

// Publish judges the observation so far (with the gateway's submissions and receipts as they
// are now) and puts the verdicts and the cases on the gateway's dashboard (PUT /observation).
func Publish(ctx context.Context, api *control.Client, obs *Observation, suite *catalogue.Suite, ids []Identity, strict bool) error {
	snap := *obs
	var err error
	if snap.Submissions, err = api.Submissions(ctx, ""); err != nil {
		return err
	}
	if snap.Receipts, err = api.Receipts(ctx, ""); err != nil {
		return err
	}
	run := Judge(&snap, suite, ids, strict)
	out := control.Observation{Updated: time.Now()}
	for _, r := range run.Requirements {
		out.Requirements = append(out.Requirements, control.ObservedRequirement{ID: string(r.ID), Title: r.Title, Status: string(r.Status), Reason: r.Reason})
	}
	for _, c := range snap.Cases {
		out.Cases = append(out.Cases, control.ObservedCase{Description: c.Description, State: caseState(c)})
	}
	return api.SetObservation(ctx, out)
}

func caseState(c Case) string {
	state := "waiting its turn"
	switch {
	case c.Done != 0 && c.Hit != 0 && c.Recovered != 0:
		state = fmt.Sprintf("done: hit the product at journal event %d, its next accepted upload at %d", c.Hit, c.Recovered)
	case c.Done != 0 && c.Hit != 0:
		state = fmt.Sprintf("done: hit the product at journal event %d", c.Hit)
	case c.Hit != 0:
		state = fmt.Sprintf("hit the product at journal event %d; waiting for its reaction", c.Hit)
	case c.Armed != 0:
		state = "armed: waiting for the product's next connection or upload"
	}
	if c.Note != "" {
		state += "; " + c.Note
	}
	return state
}
