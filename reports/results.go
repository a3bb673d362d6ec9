package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
)

// ResultsSchema names the format of results.json (docs/RESULTS.md). A reader refuses any
// other.
const ResultsSchema = "ftpsgw-results/1"

// Results is results.json: the run and one record per requirement, for machines (CI gates,
// `ftpsgw diff`, baselines). It holds no secret: the target is described by name, address,
// mode and whether it has a control API, never by its profile's passwords or tokens.
type Results struct {
	Schema       string              `json:"schema"`
	Run          ResultsRun          `json:"run"`
	Requirements []ResultRequirement `json:"requirements"`
	Gate         *Gate               `json:"gate,omitempty"`
}

// ResultsRun is the run a results file records.
type ResultsRun struct {
	Kind            string    `json:"kind"`    // gateway or client
	Verdict         Status    `json:"verdict"` // PASS, FAIL, NOT CERTIFIED, INTERRUPTED, ERROR
	ExitCode        int       `json:"exit_code"`
	BinaryVersion   string    `json:"binary_version"`
	FeaturesSHA256  string    `json:"features_sha256"`  // every file of the suite
	CatalogueSHA256 string    `json:"catalogue_sha256"` // requirements.yaml
	Started         time.Time `json:"started"`
	Ended           time.Time `json:"ended"`
	Target          Target    `json:"target"`
	Profile         string    `json:"profile,omitempty"` // the target profile, secrets removed (YAML)
	Strict          bool      `json:"strict"`
	FailOnWarn      bool      `json:"fail_on_warn"`
	Tags            string    `json:"tags,omitempty"`
	Scope           []string  `json:"scope,omitempty"`
	Interrupted     bool      `json:"interrupted,omitempty"`
	TargetLost      string    `json:"target_lost,omitempty"`
	Dashboard       string    `json:"dashboard,omitempty"` // the simulator's dashboard, when it outlives the run
}

// ResultRequirement is one requirement's verdict with its scenarios.
type ResultRequirement struct {
	ID        catalogue.ID     `json:"id"`
	Title     string           `json:"title"`
	Level     string           `json:"level"`     // as catalogued
	Effective string           `json:"effective"` // for this run
	Basis     string           `json:"basis"`
	Status    Status           `json:"status"`
	Reason    string           `json:"reason,omitempty"`
	BlockedBy []catalogue.ID   `json:"blocked_by,omitempty"`
	Scenarios []ResultScenario `json:"scenarios"`
}

// ResultScenario is one scenario's outcome; its evidence is in the HTML report, and its
// digest here lets a reader tell whether two runs saw the same.
type ResultScenario struct {
	Feature        string       `json:"feature"`
	Name           string       `json:"name"`
	Status         Status       `json:"status"`
	Failure        string       `json:"failure,omitempty"`
	BlockedBy      catalogue.ID `json:"blocked_by,omitempty"`
	NotRun         string       `json:"not_run,omitempty"`
	Unsupported    string       `json:"unsupported,omitempty"`
	EvidenceSHA256 string       `json:"evidence_sha256,omitempty"`
	// Journal is the part of the target's journal the scenario wrote.
	Journal *JournalWindow `json:"journal,omitempty"`
}

// ExitCode is the documented exit code of a run: the gate's when --baseline or --waivers
// decided it, else the verdict's (0 PASS, 1 FAIL, 3 NOT CERTIFIED, 4 INTERRUPTED, 5 ERROR).
func (r *Run) ExitCode() int {
	if r.Gate != nil && r.Verdict() != Interrupted && r.Verdict() != Error {
		if r.Gate.Failed() {
			return 1
		}
		return 0
	}
	switch r.Verdict() {
	case Pass:
		return 0
	case NotCertified:
		return 3
	case Interrupted:
		return 4
	case Error:
		return 5
	}
	return 1
}

// ResultsOf builds a run's results.json record.
func ResultsOf(r *Run) Results {
	out := Results{Schema: ResultsSchema, Gate: r.Gate, Run: ResultsRun{
		Kind: r.Kind, Verdict: r.Verdict(), ExitCode: r.ExitCode(), BinaryVersion: r.Suite,
		FeaturesSHA256: r.FeaturesHash, CatalogueSHA256: r.CatalogueHash, Started: r.Started.UTC(),
		Ended: r.Started.Add(r.Duration).UTC(), Target: r.Target, Strict: r.Strict, FailOnWarn: r.FailOnWarn,
		Tags: r.Tags, Interrupted: r.Interrupted, TargetLost: r.TargetLost, Profile: r.Profile, Dashboard: r.Dashboard,
	}}
	for _, id := range r.Scope {
		out.Run.Scope = append(out.Run.Scope, string(id))
	}
	for _, req := range r.Requirements {
		rr := ResultRequirement{ID: req.ID, Title: req.Title, Level: req.Level, Effective: req.Effective, Basis: req.Basis,
			Status: req.Status, Reason: req.Reason, BlockedBy: req.BlockedBy, Scenarios: []ResultScenario{}}
		for _, i := range req.Scenarios {
			s := r.Scenarios[i]
			rs := ResultScenario{Feature: s.Feature, Name: s.Name, Status: s.Status, Failure: s.Failure, BlockedBy: s.BlockedBy,
				NotRun: s.NotRun, Unsupported: s.Unsupported, Journal: s.Journal}
			if len(s.Evidence) > 0 {
				sum := sha256.Sum256([]byte(strings.Join(s.Evidence, "\x00")))
				rs.EvidenceSHA256 = hex.EncodeToString(sum[:])
			}
			rr.Scenarios = append(rr.Scenarios, rs)
		}
		out.Requirements = append(out.Requirements, rr)
	}
	return out
}

// WriteResults writes results.json.
func WriteResults(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ResultsOf(r))
}

// ReadResults reads a results.json file, or the results.json of a report folder, and checks
// it is one: its schema, a verdict, and requirement ids.
func ReadResults(path string) (*Results, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var res Results
	dec := json.NewDecoder(io.LimitReader(f, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("%s: not a results.json: %w", path, err)
	}
	if err := res.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &res, nil
}

// Validate checks what every results.json holds (docs/RESULTS.md).
func (r *Results) Validate() error {
	var errs []error
	if r.Schema != ResultsSchema {
		errs = append(errs, fmt.Errorf("schema %q, want %q", r.Schema, ResultsSchema))
	}
	switch r.Run.Verdict {
	case Pass, Fail, NotCertified, Interrupted, Error:
	default:
		errs = append(errs, fmt.Errorf("run.verdict %q", r.Run.Verdict))
	}
	if r.Run.Kind != "gateway" && r.Run.Kind != "client" {
		errs = append(errs, fmt.Errorf("run.kind %q", r.Run.Kind))
	}
	if len(r.Run.FeaturesSHA256) != 64 || len(r.Run.CatalogueSHA256) != 64 {
		errs = append(errs, errors.New("run.features_sha256 and run.catalogue_sha256 must be SHA-256 digests"))
	}
	seen := map[catalogue.ID]bool{}
	for _, req := range r.Requirements {
		switch {
		case !req.ID.Valid():
			errs = append(errs, fmt.Errorf("requirement id %q", req.ID))
		case seen[req.ID]:
			errs = append(errs, fmt.Errorf("requirement %s twice", req.ID))
		case req.Status == "":
			errs = append(errs, fmt.Errorf("requirement %s has no status", req.ID))
		}
		seen[req.ID] = true
	}
	if len(r.Requirements) == 0 {
		errs = append(errs, errors.New("no requirement"))
	}
	return errors.Join(errs...)
}
