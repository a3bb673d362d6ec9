package target

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether a process still runs (not a zombie of ours).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// pids reads the process ids an adapter wrote, one per line.
func pids(t *testing.T, file string) []int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%q in %s", f, file)
		}
		out = append(out, n)
	}
	return out
}

// waitGone waits up to 5 s for every process to be gone.
func waitGone(t *testing.T, list []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range list {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d outlived its adapter", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// A hanging adapter is killed with everything it started (its process group), at its time
// limit and when the run is interrupted; nothing is left behind.
func TestHangingAdapterIsKilledWithItsChildren(t *testing.T) {
	for _, how := range []string{"timeout", "interrupt"} {
		t.Run(how, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "pids")
			// Two grandchildren in the background, and the adapter itself waiting for them.
			cmd := `sleep 300 & echo $! >> "$1"; (sleep 300; true) & echo $! >> "$1"; echo $$ >> "$1"; wait`
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timeout := 30 * time.Second
			if how == "timeout" {
				timeout = 500 * time.Millisecond
			} else {
				go func() {
					time.Sleep(500 * time.Millisecond)
					cancel()
				}()
			}
			start := time.Now()
			res, err := RunCommand(ctx, cmd, []string{file}, os.Environ(), timeout)
			if err != nil {
				t.Fatal(err)
			}
			if !res.TimedOut || res.Code != -1 || time.Since(start) > 10*time.Second {
				t.Errorf("result %+v after %s", res, time.Since(start))
			}
			want := map[string]string{"timeout": "the adapter's time limit", "interrupt": "the run was interrupted"}[how]
			if !strings.Contains(res.Output, want) {
				t.Errorf("output %q does not say %q", res.Output, want)
			}
			list := pids(t, file)
			if len(list) != 3 {
				t.Fatalf("pids %v", list)
			}
			waitGone(t, list)
		})
	}
}

// Output is kept bounded: the first and the last outputKeep bytes, and how much was dropped.
func TestAdapterOutputIsBounded(t *testing.T) {
	// 1 MiB of 'x' between a first and a last line.
	cmd := `echo FIRST-LINE; head -c 1048576 /dev/zero | tr '\0' x; echo; echo LAST-LINE`
	res, err := RunCommand(context.Background(), cmd, nil, os.Environ(), 30*time.Second)
	if err != nil || res.Code != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(res.Output) > 2*outputKeep+200 {
		t.Errorf("kept %d bytes", len(res.Output))
	}
	if !strings.HasPrefix(res.Output, "FIRST-LINE") || !strings.HasSuffix(res.Output, "LAST-LINE") || !strings.Contains(res.Output, "bytes of output dropped here") {
		t.Errorf("head %q … tail %q", res.Output[:40], res.Output[len(res.Output)-40:])
	}
}

// TestCheckAdapterTakesWhatTheShellRuns: any command line `sh -c` runs is accepted (quoted
// paths with spaces, VAR=value prefixes, env, parentheses); what cannot run is refused with
// the reason.
func TestCheckAdapterTakesWhatTheShellRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dir with space (v2)")
	os.MkdirAll(dir, 0o755)
	script := filepath.Join(dir, "adapter.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	plain := filepath.Join(dir, "plain.txt")
	os.WriteFile(plain, []byte("x"), 0o644)
	q := "'" + script + "'"
	for _, ok := range []string{
		q, `"` + script + `"`, strings.NewReplacer(" ", `\ `, "(", `\(`, ")", `\)`).Replace(script), "FOO=1 " + q, `FOO='a b' BAR="c" ` + q,
		"env FOO=1 " + q, "exec " + q, "sh " + q, "cd / && " + q, "true; " + q,
	} {
		if err := CheckAdapter(ok); err != nil {
			t.Errorf("CheckAdapter(%s): %v", ok, err)
		}
	}
	for cmd, want := range map[string]string{
		"":                          "empty",
		"'" + dir + "/missing.sh'":  "no such file",
		"'" + plain + "'":           "not executable",
		"'" + dir + "'":             "folder",
		"FOO=1 no-such-command-xyz": "no command",
		`"unterminated ` + q:        "cannot parse",
		"if then":                   "cannot parse",
	} {
		if err := CheckAdapter(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckAdapter(%q): %v, want %q", cmd, err, want)
		}
	}
}
