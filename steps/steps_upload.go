package steps

import (
	"fmt"
	"time"

	"github.com/cucumber/godog"
)

// uploadSteps: sessions and uploads (used by every gateway feature).
type uploadSteps struct{ *World }

func (x *uploadSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" is logged in$`, x.isLoggedIn)
	sc.Step(`^"([^"]*)" is logged in on a raw connection$`, x.isLoggedInRaw)
	sc.Step(`^"([^"]*)" uploads a new file to "([^"]*)"$`, x.uploadsNewFile)
	sc.Step(`^"([^"]*)" has uploaded a new file to "([^"]*)"$`, x.hasUploadedNewFile)
	sc.Step(`^"([^"]*)" uploads (\d+) new files to "([^"]*)"$`, x.uploadsNewFiles)
	sc.Step(`^"([^"]*)" uploads a file named "([^"]*)" to "([^"]*)"$`, x.uploadsNamed)
	sc.Step(`^"([^"]*)" uploads a new file named with the prefix "([^"]*)" to "([^"]*)"$`, x.uploadsWithPrefix)
	sc.Step(`^"([^"]*)" uploads a file with the same name to "([^"]*)"$`, x.uploadsSameName)
	sc.Step(`^"([^"]*)" uploads a new file named as SKAT's heartbeat example to "([^"]*)"$`, x.uploadsHeartbeatExample)
	sc.Step(`^the upload is accepted$`, x.uploadAccepted)
	sc.Step(`^every upload is accepted$`, x.everyUploadAccepted)
	sc.Step(`^the upload is refused$`, x.uploadRefused)
}

func (x *uploadSteps) isLoggedIn(who string) error {
	_, err := x.fresh(who)
	return err
}

func (x *uploadSteps) isLoggedInRaw(who string) error {
	_, err := x.rawLogin(who)
	return err
}

func (x *uploadSteps) uploadsNewFile(who, service string) error {
	return x.uploadAs(who, service, x.newName(""), []byte("ftpsgw conformance upload\r\n"))
}

func (x *uploadSteps) hasUploadedNewFile(who, service string) error {
	if err := x.uploadsNewFile(who, service); err != nil {
		return err
	}
	if u := x.upload; u.err != nil {
		return expected("the upload to be accepted", "%v", u.err)
	}
	return nil
}

func (x *uploadSteps) uploadsNewFiles(who string, n int, service string) error {
	for range n {
		if err := x.uploadsNewFile(who, service); err != nil {
			return err
		}
	}
	return nil
}

func (x *uploadSteps) uploadsNamed(who, name, service string) error {
	return x.uploadAs(who, service, expandName(name), []byte("x\r\n"))
}

func (x *uploadSteps) uploadsWithPrefix(who, prefix, service string) error {
	return x.uploadAs(who, service, x.newName(prefix), []byte("x\r\n"))
}

func (x *uploadSteps) uploadsSameName(who, service string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	return x.uploadAs(who, service, f.name, []byte("the same name again\r\n"))
}

func (x *uploadSteps) uploadAccepted() error {
	if u := x.upload; u.err != nil {
		return expected("226 for the upload", "%v", u.err)
	}
	return nil
}

func (x *uploadSteps) everyUploadAccepted() error {
	for _, f := range x.files {
		if f.err != nil {
			return expected("226 for "+f.name, "%v", f.err)
		}
	}
	return nil
}

func (x *uploadSteps) uploadRefused() error {
	if u := x.upload; u.err == nil && !isRefused(u.code) {
		return expected("the upload to be refused", "226")
	}
	return nil
}

// uploadsHeartbeatExample uploads a file named in the shape of SKAT's published heartbeat
// example ping20201210143002441-hb01.xml (ping, the time to the millisecond, -hb01): a new
// name of that shape, as the real gateway never takes a name twice.
func (x *uploadSteps) uploadsHeartbeatExample(who, service string) error {
	now := time.Now().UTC()
	name := fmt.Sprintf("ping%s%03d-hb01.xml", now.Format("20060102150405"), now.Nanosecond()/1e6)
	return x.uploadAs(who, service, name, []byte("<ping/>\r\n"))
}
