package steps

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
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

// unreachable judges what a path reaches, not which reply code it gets: nothing outside the
// identity's own view (/, /out, its role folders and their files) may be listed, described or
// sized through it. A server that accepts the path but stays inside the view (CWD \..\.. on a
// server that treats it as its own root) contains it; one that shows anything else does not.
func (x *folderSteps) unreachable(p string) error {
	who := x.rawWho
	view, err := x.ownView(who)
	if err != nil {
		return err
	}
	r := x.raw
	for _, cmd := range []string{"MLST", "SIZE"} {
		code, msg, err := r.Cmd("%s %s", cmd, p)
		if err != nil {
			return err
		}
		x.note("%s %s -> %d %s", cmd, p, code, msg)
		if isRefused(code) {
			continue
		}
		if cmd == "SIZE" {
			return expected("SIZE "+p+" to find no file (it lies outside the view of "+who+")", "%d %s", code, msg)
		}
		if !x.describesOwnFolder(r, msg, view) {
			return expected("MLST "+p+" to describe nothing outside the view of "+who, "%d %s", code, strings.ReplaceAll(msg, "\n", " | "))
		}
	}
	// CWD: where it goes. MLST of the folder it lands in must be one of the view's folders.
	code, msg, err := r.Cmd("CWD %s", p)
	if err != nil {
		return err
	}
	x.note("CWD %s -> %d %s", p, code, msg)
	if isRefused(code) {
		return nil
	}
	defer r.Cmd("CWD /")
	if mcode, mmsg, err := r.Cmd("MLST"); err == nil && !isRefused(mcode) {
		if x.describesOwnFolder(r, mmsg, view) {
			return nil
		}
		return expected("CWD "+p+" to stay inside the view of "+who, "it landed in %s", strings.ReplaceAll(mmsg, "\n", " | "))
	}
	// A server without MLST: what is listed there, on a session of its own.
	return x.listedInside(who, p, view)
}

// listedInside: after CWD p, the listing holds nothing but names of the identity's view.
func (x *folderSteps) listedInside(who, p string, v view) error {
	c, err := x.fresh(who)
	if err != nil {
		return err
	}
	if err := c.ChangeDir(p); err != nil {
		return nil
	}
	defer c.ChangeDir("/")
	entries, err := c.List("")
	if err != nil {
		x.note("CWD %s accepted; the listing there refused: %v", p, err)
		return nil
	}
	var outside []string
	for _, e := range entries {
		if name, ok := entryName("", e.Name); ok && !v.names[path.Base(name)] {
			outside = append(outside, name)
		}
	}
	if len(outside) > 0 {
		return expected("CWD "+p+" to reach nothing outside the view of "+who, "listing %v", outside)
	}
	return nil
}

// view is what an identity may see: its root, /out and its role folders, with their entries.
type view struct {
	folders map[string]bool // "/", "/out", "/<role>"
	names   map[string]bool // every name listed in them
}

func (v view) folder(p string) bool { return v.folders[path.Clean("/"+p)] }

// ownView is what an identity may see: its root, /out and the role folders the profile
// gives it (the root as the server lists it when the profile gives none), with what they hold.
func (x *folderSteps) ownView(who string) (view, error) {
	v := view{folders: map[string]bool{"/": true}, names: map[string]bool{}}
	id, err := x.Identity(who)
	if err != nil {
		return v, err
	}
	root := append([]string{"out"}, id.Folders...)
	if id.Folders == nil {
		if root, err = x.rootNames(who, true); err != nil {
			return v, err
		}
	}
	c, err := x.login(who)
	if err != nil {
		return v, err
	}
	for _, n := range root {
		v.names[n] = true
		v.folders["/"+n] = true
		inside, err := listNames(c, "/"+n)
		if err != nil {
			continue // a folder that cannot be listed adds nothing to what may be seen
		}
		for _, m := range inside {
			v.names[path.Base(m)] = true
		}
	}
	return v, nil
}

// describesOwnFolder: an accepted MLST reply describes a folder of the view: it names one, or
// its fact line (facts and name, however the server names it) is the one MLST gives for one.
func (x *folderSteps) describesOwnFolder(r *ftpsclient.Raw, msg string, v view) bool {
	facts, at := mlstFacts(msg)
	if facts == "" {
		return false
	}
	if at != "" && v.folder(at) {
		return true
	}
	for f := range v.folders {
		if code, own, err := r.Cmd("MLST %s", f); err == nil && !isRefused(code) {
			if ownFacts, ownAt := mlstFacts(own); ownFacts == facts && ownAt == at {
				x.note("MLST gives the facts of %s: contained", f)
				return true
			}
		}
	}
	return false
}

// mlstFacts is the fact line of an MLST reply (" type=…;…; PATH") split into the facts and
// the path (empty when the server names none).
func mlstFacts(msg string) (facts, at string) {
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if !strings.Contains(strings.ToLower(line), "type=") {
			continue
		}
		facts, at, _ = strings.Cut(line, " ")
		return facts, strings.TrimSpace(at)
	}
	return "", ""
}
