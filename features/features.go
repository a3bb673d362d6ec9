// Package features holds the conformance suite: Gherkin feature files (one per area of the
// gateway, every scenario tagged with its requirement ids) and requirements.yaml, the
// catalogue of requirements with their sources. They are embedded so the ftpsgw binary
// carries the suite it runs.
package features

import "embed"

// FS holds *.feature and requirements.yaml.
//
//go:embed *.feature requirements.yaml
var FS embed.FS
