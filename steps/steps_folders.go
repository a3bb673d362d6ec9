package steps

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// folderSteps: the inbox's folders and what cannot be reached (features/folders.feature).
type folderSteps struct{ *World }

func (x *folderSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^the root folder lists exactly "out" and the service folders of "([^"]*)"$`, x.rootListsExactly)
	sc.Step(`^the root folder of every identity in the profile lists exactly "out" and its service folders$`, x.everyRootListsExactly)
	sc.Step(`^"([^"]*)" cannot be reached$`, x.unreachable)
	sc.Step(`^"([^"]*)" (does not see|sees) the folder "([^"]*)"$`, x.seesFolder)
	sc.Step(`^"([^"]*)" can log in and sees the folders of its last replicated roles$`, x.seesLastReplicatedFolders)
}

func (x *folderSteps) rootListsExactly(who string) error {
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
}

// everyRootListsExactly checks the root of every identity that can log in (not a negative
// fixture) and whose folders the profile states.
func (x *folderSteps) everyRootListsExactly() error {
	checked := 0
	var loginErr error
	for _, id := range x.suite.profile.Identities {
		if slices.Contains(target.NegativeFixtures, id.Name) || id.Folders == nil {
			continue
		}
		got, err := x.rootNames(id.Name, true)
		var b *catalogue.BlockedError
		if errors.As(err, &b) {
			// Whether this identity may log in is another requirement's question.
			x.note("%s not checked: it could not log in (%v)", id.Name, err)
			loginErr = err
			continue
		}
		if err != nil {
			return err
		}
		want := append([]string{"out"}, id.Folders...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return expected(fmt.Sprintf("%s's root: %v", id.Name, want), "%v", got)
		}
		checked++
	}
	if checked == 0 && loginErr != nil {
		return loginErr
	}
	if checked == 0 {
		return x.unsupportedf("the profile states no identity's folders")
	}
	x.note("checked the roots of %d identities", checked)
	return nil
}

func (x *folderSteps) seesFolder(who, sees, folder string) error {
	got, err := x.rootNames(who, true)
	if err != nil {
		return err
	}
	if present := slices.Contains(got, folder); present != (sees == "sees") {
		return expected(fmt.Sprintf("%s %s %s", who, sees, folder), "root %v", got)
	}
	return nil
}

func (x *folderSteps) seesLastReplicatedFolders(who string) error {
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
}

// rootNames lists "/" for an identity; fresh makes a new login first.
func (x *folderSteps) rootNames(who string, fresh bool) ([]string, error) {
	get := x.login
	if fresh {
		get = x.fresh
	}
	c, err := get(who)
	if err != nil {
		return nil, err
	}
	out, err := listNames(c, "/")
	if err != nil {
		return nil, fmt.Errorf("LIST / as %s: %w", who, err)
	}
	slices.Sort(out)
	x.note("LIST / as %s: %v", who, out)
	return out, nil
}

// unreachable checks that CWD and MLST of a path fail and leave the session where it was.
func (x *folderSteps) unreachable(path string) error {
	r := x.raw
	for _, cmd := range []string{"CWD", "MLST", "SIZE"} {
		code, msg, err := r.Cmd("%s %s", cmd, path)
		if err != nil {
			return err
		}
		x.note("%s %s -> %d %s", cmd, path, code, msg)
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
