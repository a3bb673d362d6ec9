package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
// otherwise report a missing command as a client that supports nothing: its first word must
// be a command the shell finds (a builtin, a function of sh, or an executable file).
func CheckAdapter(command string) error {
	fields := strings.Fields(command)
	if len(fields) == 0 {
		return errors.New("the adapter command is empty")
	}
	first := fields[0]
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
