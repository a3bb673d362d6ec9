package simulator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// folders is the file system one logged-in session sees:
//
//	/                 out + one folder per role the certificate holds now
//	/out              this certificate's own receipts and reply files (read; DELE per out_delete)
//	/<role>           upload target; lists empty (files move on to the backend)
//
// Every other path, however spelled, does not exist (550). Nothing here follows a symlink.
type folders struct {
	gw       *Gateway
	s        *session
	username string
	cvr      string
}

const outFolder = "out"

type target int

const (
	tNone target = iota
	tRoot
	tOut
	tOutFile
	tRole
	tRoleFile
)

// resolve maps a client path to what it names. Paths arrive absolute and cleaned by the
// library; anything else, or any part holding a backslash, NUL, control byte, '%' or invalid
// UTF-8, is refused as not existing.
func (f *folders) resolve(p string) (target, string, string) {
	if !strings.HasPrefix(p, "/") || !utf8.ValidString(p) || path.Clean(p) != p {
		return tNone, "", ""
	}
	if p == "/" {
		return tRoot, "", ""
	}
	parts := strings.Split(p[1:], "/")
	if len(parts) > 2 {
		return tNone, "", ""
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "\\%\x00") || strings.ContainsFunc(part, isControl) {
			return tNone, "", ""
		}
	}
	dir := parts[0]
	if dir == outFolder {
		if len(parts) == 1 {
			return tOut, "", ""
		}
		return tOutFile, "", parts[1]
	}
	if !slices.Contains(f.gw.replica.currentRoles(f.username), dir) {
		return tNone, "", ""
	}
	if len(parts) == 1 {
		return tRole, dir, ""
	}
	return tRoleFile, dir, parts[1]
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// badFileName: p names a file in one of this certificate's service folders whose name holds
// bytes no file name may hold (resolve refuses it as not existing). An upload of it is
// refused as a bad name (553), not as a folder that does not exist.
func (f *folders) badFileName(p string) (string, bool) {
	dir, file, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || file == "" || strings.Contains(file, "/") || !slices.Contains(f.gw.replica.currentRoles(f.username), dir) {
		return "", false
	}
	return file, !utf8.ValidString(file) || strings.ContainsAny(file, "\\%\x00") || strings.ContainsFunc(file, isControl)
}

// viewError is a refusal of the folder view in a plain sentence (it ends up in the FTP reply
// after the library's own words), matching fs.ErrNotExist or fs.ErrPermission.
type viewError struct {
	msg  string
	kind error
}

func (e *viewError) Error() string { return e.msg }
func (e *viewError) Unwrap() error { return e.kind }

func notExist(op, p string) error {
	if op == "upload" {
		return &viewError{p + " is not in one of your service folders: upload into /<service>/<name>, a folder your certificate's roles list", fs.ErrNotExist}
	}
	return &viewError{p + ": no such file or folder", fs.ErrNotExist}
}

func notAllowed(op, p, why string) error {
	return &viewError{fmt.Sprintf("%s %s is not allowed: %s", op, p, why), fs.ErrPermission}
}

// dirInfo is a synthetic directory entry.
type dirInfo struct {
	name string
	mod  time.Time
}

func (d dirInfo) Name() string       { return d.name }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d dirInfo) ModTime() time.Time { return d.mod }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }

// outFile returns a file of this certificate's /out: the newest live receipt or reply row
// of that name. /out is a view of the database; nothing on disk is ever served from it.
func (f *folders) outFile(name string) (store.OutboxFile, os.FileInfo, error) {
	of, ok, err := f.gw.store.OutboxByName(f.s.ctx, name, f.outOwners()...)
	if err != nil {
		return of, nil, err
	}
	if !ok {
		return of, nil, notExist("stat", "/out/"+name)
	}
	return of, outInfo(of), nil
}

// outOwners are the usernames whose receipts this /out shows: this certificate's only
// (under the shared-out defect: every registered certificate of the CVR).
func (f *folders) outOwners() []string {
	if f.gw.rules.Out.PrivatePerCertificate {
		return []string{f.username}
	}
	return f.gw.replica.roles.ofCVR(f.username, f.cvr)
}

// outInfo describes an outbox row as a file.
func outInfo(of store.OutboxFile) os.FileInfo {
	size := of.Size
	if of.Content != nil {
		size = int64(len(of.Content))
	}
	return fileInfo{name: of.Name, size: size, mod: of.CreatedAt}
}

type fileInfo struct {
	name string
	size int64
	mod  time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o640 }
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }

// outReader serves a receipt's bytes to RETR.
type outReader struct{ *bytes.Reader }

func (outReader) Write([]byte) (int, error) { return 0, errors.New("files in /out are read-only") }
func (outReader) Close() error              { return nil }

// Stat implements afero.Fs (CWD, SIZE, MDTM, MLST, LIST targets).
func (f *folders) Stat(name string) (os.FileInfo, error) {
	t, role, file := f.resolve(name)
	now := f.gw.clock.Now()
	switch t {
	case tRoot:
		return dirInfo{"/", now}, nil
	case tOut:
		return dirInfo{outFolder, now}, nil
	case tRole:
		return dirInfo{role, now}, nil
	case tOutFile:
		_, fi, err := f.outFile(file)
		return fi, err
	}
	return nil, notExist("stat", name)
}

// ReadDir implements ftpserver.ClientDriverExtensionFileList.
func (f *folders) ReadDir(name string) ([]os.FileInfo, error) {
	t, _, _ := f.resolve(name)
	now := f.gw.clock.Now()
	switch t {
	case tRoot:
		out := []os.FileInfo{dirInfo{outFolder, now}}
		roles := slices.Clone(f.gw.replica.currentRoles(f.username))
		slices.Sort(roles)
		for _, r := range roles {
			out = append(out, dirInfo{r, now})
		}
		return out, nil
	case tOut:
		files, err := f.gw.store.LiveOutbox(f.s.ctx, f.outOwners()...)
		if err != nil {
			return nil, err
		}
		out := make([]os.FileInfo, 0, len(files))
		for _, of := range files {
			out = append(out, outInfo(of))
		}
		return out, nil
	case tRole:
		return []os.FileInfo{}, nil
	}
	return nil, notExist("readdir", name)
}

// GetHandle implements ftpserver.ClientDriverExtentionFileTransfer: RETR from /out, STOR into
// a role folder. Its error decides the reply: 553 for a name the rules refuse, else 550.
func (f *folders) GetHandle(name string, flags int, offset int64) (ftpserver.FileTransfer, error) {
	t, role, file := f.resolve(name)
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		if t != tOutFile {
			return nil, notExist("open", name)
		}
		of, _, err := f.outFile(file)
		if err != nil {
			return nil, err
		}
		f.gw.journal.Append(control.Event{Session: f.s.id, Remote: f.s.remote, Username: f.username, Type: control.EventDownload, Path: name, OK: true})
		return outReader{bytes.NewReader(of.Content)}, nil
	}
	switch t {
	case tRoleFile:
	case tOut, tOutFile, tRoot:
		return nil, f.refuseUpload(name, notAllowed("upload", name, "uploads go into a service folder, not "+path.Dir(name)))
	default:
		if file, bad := f.badFileName(name); bad {
			return nil, f.refuseUpload(name, fmt.Errorf("%w: %q: a file name may not hold control characters, NUL, '\\' or '%%'",
				ftpserver.ErrFileNameNotAllowed, file))
		}
		return nil, f.refuseUpload(name, notExist("upload", name))
	}
	if f.gw.injectFault(f.s, false) {
		return nil, f.refuseUpload(name, errors.New("connection dropped (fault injected)"))
	}
	if flags&os.O_APPEND != 0 || offset != 0 {
		return nil, f.refuseUpload(name, notAllowed("upload", name, "APPE and REST are not allowed: a submission is one whole file"))
	}
	if !f.s.cc.HasTLSForTransfers() && f.gw.rules.Data.RequireProtection {
		// PROT C: ftpserverlib answers PROT C with 200, so the transfer is refused here, before any file exists.
		return nil, f.refuseUpload(name, notAllowed("upload", name, "data connections must be protected: send PROT P (PROT C is refused, RFC 4217 534)"))
	}
	return f.gw.uploads.startUpload(f, role, file)
}

func (f *folders) refuseUpload(name string, err error) error {
	f.gw.journal.Append(control.Event{Session: f.s.id, Remote: f.s.remote, Username: f.username, Type: control.EventUpload, Path: name, OK: false, Reason: err.Error()})
	return err
}

// Remove implements afero.Fs (DELE): a certificate's own files in /out (SKAT recommends
// deleting receipts once checked), never another certificate's; none with out_delete: deny.
func (f *folders) Remove(name string) error {
	t, _, file := f.resolve(name)
	if t != tOutFile {
		return notExist("remove", name)
	}
	of, _, err := f.outFile(file)
	if err != nil {
		return err
	}
	switch {
	case !f.gw.rules.Out.OwnerMayDelete:
		return notAllowed("remove", name, "files in /out cannot be deleted; the gateway removes them after 30 days (out_delete: deny)")
	case of.Username != f.username:
		return notAllowed("remove", name, "it belongs to another certificate's /out")
	}
	return f.gw.store.DeleteOutboxName(f.s.ctx, file, f.gw.clock.Now(), f.username)
}

// RemoveDir implements ftpserver.ClientDriverExtensionRemoveDir (RMD).
func (f *folders) RemoveDir(name string) error { return f.refuseDir("rmdir", name) }

func (f *folders) refuseDir(op, name string) error {
	if t, _, _ := f.resolve(name); t == tNone || t == tRoleFile || t == tOutFile {
		return notExist(op, name)
	}
	return notAllowed(op, name, "the folder structure is fixed")
}

// Mkdir implements afero.Fs (MKD): the folder structure is fixed.
func (f *folders) Mkdir(name string, _ os.FileMode) error { return f.refuseDir("mkdir", name) }

// MkdirAll implements afero.Fs.
func (f *folders) MkdirAll(name string, _ os.FileMode) error { return f.refuseDir("mkdir", name) }

// RemoveAll implements afero.Fs.
func (f *folders) RemoveAll(name string) error { return f.refuseDir("remove", name) }

// Rename implements afero.Fs (RNFR/RNTO): never allowed.
func (f *folders) Rename(oldname, _ string) error {
	if t, _, _ := f.resolve(oldname); t != tOutFile {
		return notExist("rename", oldname)
	}
	return notAllowed("rename", oldname, "files cannot be renamed")
}

// Create implements afero.Fs; uploads go through GetHandle.
func (f *folders) Create(name string) (afero.File, error) {
	return nil, notAllowed("create", name, "use STOR")
}

// Open implements afero.Fs; downloads go through GetHandle and listings through ReadDir.
func (f *folders) Open(name string) (afero.File, error) { return nil, notExist("open", name) }

// OpenFile implements afero.Fs.
func (f *folders) OpenFile(name string, _ int, _ os.FileMode) (afero.File, error) {
	return nil, notExist("open", name)
}

// Name implements afero.Fs.
func (f *folders) Name() string { return "ftpsgw" }

// Chmod implements afero.Fs.
func (f *folders) Chmod(name string, _ os.FileMode) error { return f.refuseMeta("chmod", name) }

// Chown implements afero.Fs.
func (f *folders) Chown(name string, _, _ int) error { return f.refuseMeta("chown", name) }

// Chtimes implements afero.Fs (MFMT).
func (f *folders) Chtimes(name string, _, _ time.Time) error { return f.refuseMeta("chtimes", name) }

func (f *folders) refuseMeta(op, name string) error {
	if t, _, _ := f.resolve(name); t == tNone || t == tRoleFile {
		return notExist(op, name)
	}
	return notAllowed(op, name, "not supported")
}
