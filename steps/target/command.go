package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Adapters (the client adapter of client certification, the state adapter of a target) are
// commands the harness runs. Each runs in a process group of its own, which is killed whole at
// the timeout or when the run is interrupted, so nothing is left behind; its output is kept
// bounded (the first and the last outputKeep bytes, and how much was dropped between).

const outputKeep = 8 << 10

// CommandResult is what one adapter run gave.
type CommandResult struct {
	Code     int    // exit code; -1 when stopped at the timeout or by an interrupt
	Output   string // the first and last 8 KiB of stdout and stderr
	TimedOut bool
}

// RunCommand runs `sh -c 'COMMAND "$@"' sh ARGS...` (so ARGS reach the command unchanged).
// An error means the command could not be started at all.
func RunCommand(ctx context.Context, command string, args, env []string, timeout time.Duration) (CommandResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command("sh", append([]string{"-c", command + ` "$@"`, "sh"}, args...)...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second // a child that keeps the output open does not hold the run
	out := &boundedOutput{keep: outputKeep}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return CommandResult{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group
		err = <-done
	}
	// Whatever the command left running in its group goes too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	res := CommandResult{Output: out.String()}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.Code, res.TimedOut = -1, true
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			res.Output += fmt.Sprintf("\n[ftpsgw: stopped after %s, the adapter's time limit]", timeout)
		} else {
			res.Output += "\n[ftpsgw: stopped: the run was interrupted]"
		}
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	case err != nil:
		return res, err
	}
	return res, nil
}

// boundedOutput keeps the first and the last keep bytes written to it.
type boundedOutput struct {
	mu      sync.Mutex
	keep    int
	head    []byte
	tail    []byte // a ring of the last keep bytes once head is full
	dropped int64
}

func (b *boundedOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := b.keep - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - b.keep; over > 0 {
		b.dropped += int64(over)
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

func (b *boundedOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(b.head)
	if b.dropped > 0 {
		s += fmt.Sprintf("\n[ftpsgw: %d bytes of output dropped here]\n", b.dropped)
	}
	return strings.TrimSpace(s + string(b.tail))
}

// CheckAdapter makes sure an adapter command can run at all, before a run that would
// otherwise report a missing command as a client that supports nothing. The command is a
// shell command line, run as `sh -c 'COMMAND "$@"'`: quotes, escapes, leading VAR=value
// assignments, `env`/`exec` prefixes and compound commands are all fine. It must parse
// (`sh -n`), and its first program, where that can be told without running anything, must be
// one the shell finds (a builtin, a function of sh, or an executable file).
func CheckAdapter(command string) error {
	if strings.TrimSpace(command) == "" {
		return errors.New("the adapter command is empty")
	}
	if out, err := exec.Command("sh", "-n", "-c", command+` "$@"`).CombinedOutput(); err != nil {
		return fmt.Errorf("adapter %q: the shell cannot parse it: %s", command, strings.TrimSpace(string(out)))
	}
	first, ok := firstProgram(command)
	if !ok {
		return nil // a subshell, a group or an expansion: the shell finds out when it runs
	}
	if strings.Contains(first, "/") {
		fi, err := os.Stat(first)
		switch {
		case err != nil:
			return fmt.Errorf("adapter %s: %v", first, err)
		case fi.IsDir():
			return fmt.Errorf("adapter %s is a folder, not a program", first)
		case fi.Mode()&0o111 == 0:
			return fmt.Errorf("adapter %s is not executable (chmod +x %s)", first, first)
		}
		return nil
	}
	if err := exec.Command("sh", "-c", `command -v "$1" >/dev/null`, "sh", first).Run(); err != nil {
		return fmt.Errorf("adapter %q: the shell finds no command %q", command, first)
	}
	return nil
}

// firstProgram is the program a simple shell command line runs first, with quotes and
// escapes removed, past VAR=value assignments and the env, exec and command prefixes; false
// when it cannot be told without running the shell (a subshell, a group, an expansion).
func firstProgram(line string) (string, bool) {
	words, ok := shellWords(line)
	if !ok {
		return "", false
	}
	assignment := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case assignment.MatchString(w.raw):
			continue
		case w.text == "env" || w.text == "exec" || w.text == "command":
			continue
		case strings.ContainsAny(w.raw, "$`") || strings.HasPrefix(w.raw, "(") || w.raw == "{" || strings.HasPrefix(w.raw, "!"):
			return "", false
		}
		return w.text, true
	}
	return "", false
}

type shellWord struct{ raw, text string }

// shellWords splits the first simple command of a line into words as sh does for quotes and
// backslashes (no expansions); it stops at an unquoted ; & | < > ( ) or newline.
func shellWords(line string) ([]shellWord, bool) {
	var words []shellWord
	var raw, text strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, shellWord{raw.String(), text.String()})
		}
		raw.Reset()
		text.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			raw.WriteByte(c)
			raw.WriteByte(line[i+1])
			text.WriteByte(line[i+1])
			i++
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			raw.WriteString(line[i : i+j+2])
			text.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
			}
			if j >= len(line) {
				return nil, false
			}
			raw.WriteString(line[i : j+1])
			inner := line[i+1 : j]
			text.WriteString(strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(inner))
			i = j
			inWord = true
		case c == ' ' || c == '\t':
			flush()
		case strings.IndexByte(";&|<>()\n", c) >= 0:
			if c == '(' && !inWord && len(words) == 0 {
				raw.WriteByte(c)
				inWord = true
				flush()
				return words, true
			}
			flush()
			return words, true
		default:
			raw.WriteByte(c)
			text.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, true
}
