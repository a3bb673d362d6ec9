package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the data folder's lock: one process owns a data folder at a time.
const LockFile = "lock"

// dataLock is an exclusive OS lock (flock) on a data folder's lock file, taken before anything
// else in the folder is touched and held until the owner stops. The kernel drops it when the
// process dies, so a crash never leaves a folder locked.
type dataLock struct {
	f *os.File
}

// lockHolder is what the owner writes into the lock file, for the error another process gives.
type lockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	Addrs   []string  `json:"addrs,omitempty"`
}

// lockDataDir claims dir as a data folder (claimDataDir: created if missing, refused when it
// is someone else's) and takes its lock for command, or says who holds it.
func lockDataDir(dir, command string) (*dataLock, error) {
	if err := claimDataDir(dir, command); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			var h lockHolder
			raw, _ := io.ReadAll(io.LimitReader(f, 64<<10))
			if json.Unmarshal(raw, &h) == nil && h.PID > 0 {
				return nil, fmt.Errorf("the data folder %s is in use by %s (pid %d, since %s, %v): stop it, or give this one another --data",
					dir, h.Command, h.PID, h.Since.Format(time.RFC3339), h.Addrs)
			}
			return nil, fmt.Errorf("the data folder %s is in use by another process: stop it, or give this one another --data", dir)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	l := &dataLock{f: f}
	if err := l.describe(lockHolder{PID: os.Getpid(), Command: command, Since: time.Now().UTC()}); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// describe writes the holder's description into the lock file.
func (l *dataLock) describe(h lockHolder) error {
	b, _ := json.Marshal(h)
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt(append(b, '\n'), 0)
	return err
}

func (l *dataLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Close() // closing the descriptor drops the flock
		l.f = nil
	}
}
