// Package features holds the conformance suite: Gherkin feature files (one per area of the
// gateway, every scenario tagged with its requirement ids) and requirements.yaml, the
// catalogue of requirements with their sources. They are embedded so the ftpsgw binary
// carries the suite it runs.
package features

import (
	"embed"
	"io/fs"
)

// FS holds the gateway suite: *.feature and requirements.yaml.
//
//go:embed *.feature requirements.yaml
var FS embed.FS

//go:embed client/*.feature client/requirements.yaml
var clientFS embed.FS

// ClientFS holds the client-certification suite (the client folder), rooted at that folder.
var ClientFS = mustSub(clientFS, "client")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
