// Package erp shows a QA team's own godog suite that registers ftpsgw's steps beside its
// own and shares one World: the team's step files the report with the team's own client
// (here jlaffaye/ftp, standing in for an ERP system), ftpsgw's steps judge the receipts.
// It runs against the simulator started in this process by simtest.
package erp

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cucumber/godog"
	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps"
)

// erpSteps are the team's own steps; w is ftpsgw's World for the scenario.
type erpSteps struct {
	w    *steps.World
	last string // the name of the last report filed
}

// filesInterestReport uploads a report with the team's own FTPS client and tells ftpsgw's
// World about it, so "receives receipts 1 and 2 for it" knows what "it" is.
func (e *erpSteps) filesInterestReport(who, folder string) error {
	e.last = e.w.NewName("rente_")
	return e.file(who, folder, e.last)
}

func (e *erpSteps) filesSameReportAgain(who, folder string) error { return e.file(who, folder, e.last) }

func (e *erpSteps) file(who, folder, name string) error {
	opts, err := e.w.ClientOptions(who)
	if err != nil {
		return err
	}
	id, err := e.w.Identity(who)
	if err != nil {
		return err
	}
	c, err := ftp.Dial(opts.Addr, ftp.DialWithExplicitTLS(opts.TLSConfig()), ftp.DialWithTimeout(20*time.Second),
		ftp.DialWithContext(e.w.Context()))
	if err != nil {
		return fmt.Errorf("the ERP cannot connect: %w", err)
	}
	defer c.Quit()
	if err := c.Login(id.Username, id.Password); err != nil {
		return fmt.Errorf("the ERP cannot log in: %w", err)
	}
	report := []byte("interest report filed by the ERP\r\n")
	upErr := c.Stor("/"+folder+"/"+name, bytes.NewReader(report))
	return e.w.Uploaded(who, folder, name, upErr)
}

func TestERPFiling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sim := simtest.New(t, simtest.Options{})
	profile, err := sim.Profile()
	if err != nil {
		t.Fatal(err)
	}
	suite, err := steps.NewSuite(ctx, profile)
	if err != nil {
		t.Fatal(err)
	}
	status := godog.TestSuite{
		Name: "erp",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			erp := &erpSteps{w: suite.Register(sc)} // ftpsgw's hooks and steps, and the shared World
			sc.Step(`^our ERP files the interest report as "([^"]*)" to "([^"]*)"$`, erp.filesInterestReport)
			sc.Step(`^our ERP files the same report again as "([^"]*)" to "([^"]*)"$`, erp.filesSameReportAgain)
		},
		Options: &godog.Options{Format: "pretty", Paths: []string{"features"}, Strict: true, TestingT: t,
			NoColors: true, DefaultContext: ctx},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exit status %d", status)
	}
}
