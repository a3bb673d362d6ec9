package reports

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// WriteFiles writes junit.xml, report.html and results.json into dir, each to a temporary file first and
// renamed into place, so a reader never sees half a report.
func WriteFiles(dir string, run *Run) error {
	write := func(name string, fn func(io.Writer) error) error {
		tmp := filepath.Join(dir, "."+name+".tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
		if err := f.Close(); err != nil {
			os.Remove(tmp)
			return err
		}
		return os.Rename(tmp, filepath.Join(dir, name))
	}
	return errors.Join(
		write("junit.xml", func(w io.Writer) error { return WriteJUnit(w, run) }),
		write("report.html", func(w io.Writer) error { return WriteHTML(w, run) }),
		write("results.json", func(w io.Writer) error { return WriteResults(w, run) }),
	)
}
