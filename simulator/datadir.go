package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The data folder. ftpsgw deletes files in its data folder (partial uploads at start, the
// spool at a reset), so it works only in a folder it made: one that holds its marker file,
// written when the folder was new or empty. It refuses any other non-empty folder before it
// touches anything in it, refuses a tmp or spool that is a symbolic link, and deletes only
// files of its own: the spool files its database records (reset), and at start the files
// whose names only it gives (upload-<hex> in tmp, <nanoseconds>-<name> three levels under
// spool) that its database does not know, each after Lstat says it is a regular file.

// DataMarker is the file that makes a folder an ftpsgw data folder.
const DataMarker = ".ftpsgw-data"

// ErrNotDataFolder: the folder given as a data folder is someone else's.
var ErrNotDataFolder = errors.New("not an ftpsgw data folder")

var (
	tmpFileRe   = regexp.MustCompile(`^upload-[0-9a-f]{16}$`)
	spoolFileRe = regexp.MustCompile(`^[0-9]+-[^/]+$`)
)

// claimDataDir makes dir (created if missing) the data folder of command, or refuses it when
// it holds files and no marker. A folder of an older ftpsgw (no marker yet, but its lock file
// names an ftpsgw command) and a folder holding only the pki folder `pki init` made are
// claimed too. Nothing in dir is changed before the check.
func claimDataDir(dir, command string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		return writeMarker(dir, command)
	case err != nil:
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, DataMarker)); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s: %s is not a regular file", ErrNotDataFolder, dir, DataMarker)
		}
		return nil
	}
	if len(entries) == 0 || onlyPKI(dir, entries) || legacyDataDir(dir) {
		return writeMarker(dir, command)
	}
	var names []string
	for i, e := range entries {
		if i == 3 {
			names = append(names, "…")
			break
		}
		names = append(names, e.Name())
	}
	return fmt.Errorf("%w: %s holds files (%s) and no %s marker; ftpsgw deletes files in its data folder, so it "+
		"uses only a new or empty folder or one it made: give another --data (e.g. --data ./ftpsgw-data)",
		ErrNotDataFolder, dir, strings.Join(names, ", "), DataMarker)
}

func writeMarker(dir, command string) error {
	text := fmt.Sprintf("ftpsgw data folder, made by %s at %s. ftpsgw deletes its own files in it; do not keep other files here.\n",
		command, time.Now().UTC().Format(time.RFC3339))
	f, err := os.OpenFile(filepath.Join(dir, DataMarker), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return nil // another ftpsgw claimed it at the same moment
	}
	if err != nil {
		return fmt.Errorf("marking %s as an ftpsgw data folder: %w", dir, err)
	}
	_, werr := f.WriteString(text)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// onlyPKI: the folder holds nothing but a PKI folder made by `ftpsgw pki init --out DIR/pki`.
func onlyPKI(dir string, entries []os.DirEntry) bool {
	if len(entries) != 1 || entries[0].Name() != "pki" || !entries[0].IsDir() {
		return false
	}
	_, err := os.Lstat(filepath.Join(dir, "pki", "manifest.json"))
	return err == nil
}

// legacyDataDir: a data folder of an ftpsgw from before the marker (its lock file names an
// ftpsgw command).
func legacyDataDir(dir string) bool {
	f, err := os.Open(filepath.Join(dir, LockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	var h lockHolder
	raw, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	return json.Unmarshal(raw, &h) == nil && strings.HasPrefix(h.Command, "ftpsgw ")
}

// ownFolder makes (if missing) a folder of the data folder the simulator writes in, and
// refuses one that is a symbolic link or not a folder.
func ownFolder(data, name string) (string, error) {
	p := filepath.Join(data, name)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return p, os.Mkdir(p, 0o750)
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("%w: %s is a symbolic link; ftpsgw deletes files in %s, so it refuses to follow it: remove the link", ErrNotDataFolder, p, name)
	case !fi.IsDir():
		return "", fmt.Errorf("%w: %s is not a folder", ErrNotDataFolder, p)
	}
	return p, nil
}

// removeOwnFile deletes a file of the simulator's after Lstat says it is a regular file (a
// link or anything else is left alone), logging why.
func removeOwnFile(log *slog.Logger, path, why string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		if err == nil {
			log.Warn("not deleting: not a regular file", "file", path, "reason", why)
		}
		return false
	}
	if err := os.Remove(path); err != nil {
		log.Warn("could not delete", "file", path, "err", err)
		return false
	}
	log.Info("deleted", "file", path, "reason", why)
	return true
}

// removePartialUploads deletes the partial uploads in tmp (upload-<hex>: only the simulator
// names files so) and returns how many.
func removePartialUploads(log *slog.Logger, data string) int {
	tmp := filepath.Join(data, "tmp")
	entries, _ := os.ReadDir(tmp)
	n := 0
	for _, e := range entries {
		if tmpFileRe.MatchString(e.Name()) && removeOwnFile(log, filepath.Join(tmp, e.Name()), "a partial upload of a transfer that never completed") {
			n++
		}
	}
	return n
}

// removeUnknownSpool deletes files in spool/<user>/<service>/ named as only the simulator
// names them (<nanoseconds>-<name>) that the database does not record: uploads written but
// never committed, so never confirmed to their client. Links are not followed.
func removeUnknownSpool(log *slog.Logger, data string, known map[string]bool) int {
	spool := filepath.Join(data, "spool")
	n := 0
	_ = filepath.WalkDir(spool, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(data, p)
		if known[rel] || strings.Count(rel, string(filepath.Separator)) != 3 || !spoolFileRe.MatchString(d.Name()) {
			return nil
		}
		if removeOwnFile(log, p, "an upload that was never confirmed to its client") {
			n++
		}
		return nil
	})
	return n
}

// removeSpool deletes the spool files the database records (a reset) and the folders under
// spool that are then empty; it returns how many files it deleted.
func removeSpool(log *slog.Logger, data string, recorded map[string]bool) int {
	n := 0
	for rel := range recorded {
		clean := filepath.Clean(rel)
		if rel == "" || !strings.HasPrefix(clean, "spool"+string(filepath.Separator)) || strings.Contains(clean, "..") {
			continue // kept in the database (a small upload), or not a spool path
		}
		if removeOwnFile(log, filepath.Join(data, clean), "reset") {
			n++
		}
	}
	// empty folders only (os.Remove refuses a folder that holds anything)
	spool := filepath.Join(data, "spool")
	var dirs []string
	_ = filepath.WalkDir(spool, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != spool {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i])
	}
	return n
}
