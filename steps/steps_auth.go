package steps

import (
	"fmt"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// authSteps: logins, usernames and registrations (features/auth.feature, and the
// certificate refusals of features/tls.feature).
type authSteps struct {
	*World
	// the last login attempt
	loginCode  int
	loginMsg   string
	loginErr   error
	loginStage string // the last command sent: USER, or PASS after a 331
}

func (x *authSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^a client without a certificate tries to log in as "([^"]*)"$`, x.triesWithoutCertificate)
	sc.Step(`^"([^"]*)" tries to log in with its password$`, x.triesWithItsPassword)
	sc.Step(`^"([^"]*)" tries to log in with a wrong password$`, x.triesWithWrongPassword)
	sc.Step(`^"([^"]*)" tries to log in as "([^"]*)" with that certificate's password$`, x.triesAsAnother)
	sc.Step(`^"([^"]*)" can log in with its password$`, x.canLogIn)
	sc.Step(`^the connection is refused$`, x.connectionRefused)
	sc.Step(`^the login is refused$`, x.loginRefused)
	sc.Step(`^the login succeeds$`, x.loginSucceeds)
	sc.Step(`^the username of "([^"]*)" is made from its certificate$`, x.usernameFromCertificate)
	sc.Step(`^"([^"]*)" has the same CVR as "([^"]*)"$`, x.sameCVR)
	sc.Step(`^the registration of "([^"]*)" is removed$`, x.registrationRemoved)
}

func (x *authSteps) triesWithoutCertificate(who string) error {
	_, id, err := x.options(who)
	if err != nil {
		return err
	}
	return x.tryLogin("", id.Username, id.Password)
}

func (x *authSteps) triesWithItsPassword(who string) error {
	_, id, err := x.options(who)
	if err != nil {
		return err
	}
	return x.tryLogin(who, id.Username, id.Password)
}

func (x *authSteps) triesWithWrongPassword(who string) error {
	_, id, err := x.options(who)
	if err != nil {
		return err
	}
	return x.tryLogin(who, id.Username, id.Password+"-wrong")
}

func (x *authSteps) triesAsAnother(who, as string) error {
	_, other, err := x.options(as)
	if err != nil {
		return err
	}
	return x.tryLogin(who, other.Username, other.Password)
}

// canLogIn is the positive control before a refusal is judged: on a target where logins fail
// anyway, a refusal proves nothing (the scenario is then BLOCKED by GW-AUTH-01).
func (x *authSteps) canLogIn(who string) error {
	_, id, err := x.options(who)
	if err != nil {
		return err
	}
	if err := x.tryLogin(who, id.Username, id.Password); err != nil {
		return blockedBy(reqLogin, err)
	}
	if x.tlsErr != nil || x.loginCode != 230 {
		return blockedBy(reqLogin, expected(who+" to log in with its certificate and password (230)",
			"TLS %s, %s -> %s", errText(x.tlsErr), x.loginStage, replyText(x.loginCode, x.loginMsg, x.loginErr)))
	}
	return nil
}

// connectionRefused: a certificate the gateway must refuse is refused in the TLS handshake or
// at USER, before a password is asked for. A 530 after PASS could be a password check, so it
// does not count.
func (x *authSteps) connectionRefused() error {
	switch {
	case x.tlsErr != nil:
		return nil
	case x.loginStage == "USER" && (x.loginErr != nil || isRefused(x.loginCode)):
		return nil
	}
	return expected("the connection to be refused in the TLS handshake or at USER, before PASS",
		"TLS %s accepted, %s -> %s", x.tlsState, x.loginStage, replyText(x.loginCode, x.loginMsg, x.loginErr))
}

func (x *authSteps) loginRefused() error { return x.refused("the login") }

// loginSucceeds: whether a certificate and its password log in at all is GW-AUTH-01's; on a
// gateway where it fails, a positive login scenario of another requirement is BLOCKED by it
// (and where it passes, the failure is that scenario's own).
func (x *authSteps) loginSucceeds() error {
	if x.tlsErr != nil || x.loginCode != 230 {
		return blockedBy(reqLogin, expected("230 after PASS", "TLS %s, %s", errText(x.tlsErr), replyText(x.loginCode, x.loginMsg, x.loginErr)))
	}
	return nil
}

func (x *authSteps) usernameFromCertificate(who string) error {
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
}

func (x *authSteps) sameCVR(a, b string) error {
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
}

func (x *authSteps) registrationRemoved(who string) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	_, id, err := x.options(who)
	if err != nil {
		return err
	}
	return x.stateErr(st.Unregister(x.ctx, id.Username))
}

// tryLogin connects with the certificate of certOf ("" for none) and logs in.
func (x *authSteps) tryLogin(certOf, user, pass string) error {
	opts, _, err := x.options(certOf)
	if err != nil {
		return err
	}
	x.tlsErr, x.loginCode, x.loginMsg, x.loginErr = nil, 0, "", nil
	r, err := ftpsclient.DialRaw(x.ctx, opts)
	if err != nil {
		if opts.Implicit {
			x.tlsErr = err
			x.note("implicit TLS handshake: %v", err)
			return nil
		}
		return fmt.Errorf("connecting: %w", err)
	}
	defer r.Close()
	if !opts.Implicit {
		st, err := r.AuthTLS(x.ctx)
		if err != nil {
			x.tlsErr = err
			x.note("TLS handshake refused: %v", err)
			return nil
		}
		x.tlsState = describeTLS(st)
	}
	x.loginStage = "USER"
	code, msg, err := r.Cmd("USER %s", user)
	if err == nil && code == 331 {
		x.loginStage = "PASS"
		code, msg, err = r.Cmd("PASS %s", pass)
	}
	x.loginCode, x.loginMsg, x.loginErr = code, msg, err
	x.note("login as %s with the certificate of %q: %s -> %s", user, certOf, x.loginStage, replyText(code, msg, err))
	return nil
}

// refused passes when the last attempt failed in the handshake, by a 4xx/5xx reply, or by
// the server closing the connection.
func (x *authSteps) refused(what string) error {
	switch {
	case x.tlsErr != nil:
		return nil
	case x.loginErr != nil:
		return nil // the server hung up (a TLS 1.2 certificate refusal shows here)
	case isRefused(x.loginCode):
		return nil
	}
	return expected(what+" to be refused", "%d %s (TLS %s)", x.loginCode, x.loginMsg, x.tlsState)
}
