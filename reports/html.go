package reports

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteHTML writes one self-contained HTML conformance report (no external files, readable
// offline): verdict, target, suite version, feature hash, date, the requirements matrix, and
// per requirement its statements, scenarios, failures and evidence.
func WriteHTML(w io.Writer, r *Run) error {
	return htmlTemplate.Execute(w, r)
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": func(s Status) string { return strings.ToLower(strings.ReplaceAll(string(s), " ", "-")) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"dur":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"scenario": func(r *Run, i int) Scenario {
		return r.Scenarios[i]
	},
	"count": func(r *Run, s Status) int { return r.Count()[s] },
	"title": titleCase,
	"certified": func(r *Run) string {
		p, of := r.Certified()
		return fmt.Sprintf("Certified for %d of %d requirements%s", p, of, r.ScopeNote())
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ftpsgw {{.Kind}} conformance report: {{.Target.Name}}</title>
<style>
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
  header { background: #1d232a; color: #fff; padding: 24px 32px; }
  header h1 { margin: 0 0 4px; font-size: 22px; }
  header .sub { color: #b9c2cc; font-size: 13px; }
  main { padding: 24px 32px; max-width: 1200px; }
  .verdict { display: inline-block; font-size: 28px; font-weight: 700; padding: 8px 22px; border-radius: 6px; margin: 8px 0 16px; }
  .verdict.pass { background: #1f8a4c; color: #fff; } .verdict.fail { background: #c0392b; color: #fff; }
  .verdict.not-certified, .verdict.interrupted { background: #8a5a00; color: #fff; }
  table { border-collapse: collapse; width: 100%; background: #fff; margin: 12px 0 28px; }
  th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
  th { background: #eef1f4; font-size: 13px; }
  #matrix td:first-child { white-space: nowrap; }
  .st { font-weight: 700; font-size: 12px; padding: 2px 8px; border-radius: 10px; white-space: nowrap; }
  .st.pass { background: #d8f3e3; color: #17693a; } .st.fail { background: #fadbd8; color: #a3261b; }
  .st.warn { background: #fdf0d0; color: #8a5a00; } .st.unsupported { background: #e4e8ee; color: #3b4a5a; }
  .st.not-run, .st.out-of-scope, .st.not-exercised { background: #f0f0f0; color: #777; }
  .st.blocked { background: #f6e0f0; color: #7a2160; } .st.partial { background: #fdf0d0; color: #8a5a00; }
  dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; padding: 14px 18px; }
  dl.meta dt { color: #5a6570; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; font-size: 13px; word-break: break-all; }
  section.req { background: #fff; padding: 14px 18px; margin-bottom: 14px; border-left: 5px solid #c7cdd4; }
  section.req.fail { border-left-color: #c0392b; } section.req.pass { border-left-color: #1f8a4c; }
  section.req.warn { border-left-color: #d39b00; }
  .da { color: #5a6570; font-style: italic; }
  pre { background: #f3f5f7; padding: 8px 10px; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
  .failure { color: #a3261b; font-weight: 600; }
  .counts span { margin-right: 14px; }
</style>
</head>
<body>
<header>
  <h1>{{title .Kind}} conformance report: {{.Target.Name}}</h1>
  <div class="sub">ftpsgw {{.Suite}} · SKAT FTPS gateway requirements · generated {{when .Started}}</div>
</header>
<main>
  <div class="verdict {{lower .Verdict}}" id="verdict">{{.Verdict}}</div>
  <p class="counts"><span>{{count . "PASS"}} pass</span><span>{{count . "FAIL"}} fail</span><span>{{count . "WARN"}} warn</span><span>{{count . "BLOCKED"}} blocked</span><span>{{count . "PARTIAL"}} partial</span><span>{{count . "UNSUPPORTED"}} unsupported</span><span>{{count . "NOT RUN"}} not run</span><span>{{count . "OUT OF SCOPE"}} out of scope</span><span>of {{len .Requirements}} requirements, in {{dur .Duration}}</span></p>
  <p><b>{{certified .}}</b></p>
  <p>The verdict is PASS (certified) when every requirement that is MUST for this run, in scope and run, passed; FAIL when one failed{{if .FailOnWarn}} (with --fail-on warn, a failed SHOULD too){{end}}; NOT CERTIFIED when none failed but one is BLOCKED, PARTIAL or UNSUPPORTED; INTERRUPTED when the run was stopped before it ended. {{if .Strict}}Strict run: assumed requirements count as MUST.{{else}}Assumed requirements (not published by SKAT) count as SHOULD; a failed SHOULD is a warning.{{end}}</p>
  <p>A requirement is PASS only when every scenario of it ran and passed on this target. BLOCKED: a scenario failed in a precondition another requirement judges (a login refused, a receipt that never came) and that requirement did not pass here. PARTIAL: some scenarios passed and the others could not run (the reason says which). {{if eq .Kind "client"}}UNSUPPORTED: the client adapter answered exit 127 (this action is not supported) for an action the scenario needs; the client was not judged on it.{{else}}UNSUPPORTED: the target could not be put into the state the scenarios need (no control API or state adapter, a real clock, an identity missing from the profile, no receipts).{{end}} NOT RUN: not selected, or cut by an interrupt. OUT OF SCOPE: left out by the profile's scope.</p>
  <dl class="meta">
    <dt>Target</dt><dd>{{.Target.Name}}{{if .Target.Description}} — {{.Target.Description}}{{end}}</dd>
    <dt>Address</dt><dd>{{.Target.Address}} ({{.Target.Mode}} FTPS{{if .Target.Control}}, control API{{else}}, no control API{{end}})</dd>
    <dt>Suite</dt><dd>ftpsgw {{.Suite}}</dd>
    <dt>Feature files SHA-256</dt><dd>{{.FeaturesHash}}</dd>
    {{if .CatalogueHash}}<dt>Catalogue SHA-256</dt><dd>{{.CatalogueHash}}</dd>{{end}}
    <dt>Started</dt><dd>{{when .Started}}</dd>
    {{if .Tags}}<dt>Tags</dt><dd>{{.Tags}}</dd>{{end}}
    {{if .Scope}}<dt>Scope</dt><dd>{{range .Scope}}{{.}} {{end}}</dd>{{end}}
    {{if .Dashboard}}<dt>Dashboard</dt><dd><a href="{{.Dashboard}}">{{.Dashboard}}</a> (the simulator's live view; each scenario links to what it saw, while that simulator runs)</dd>{{end}}
  </dl>
  {{with .Gate}}
  <h2 id="gate">Gate {{if .Failed}}<span class="st fail">FAIL</span>{{else}}<span class="st pass">PASS</span>{{end}}</h2>
  <p>{{if .Baseline}}Against the baseline {{.Baseline}}: only a requirement worse than there fails the run.{{else}}Waivers applied to the verdict.{{end}} An expired or unused waiver fails the run.</p>
  <table id="waivers">
    <tr><th>Id</th><th>Outcome</th><th>Detail</th></tr>
    {{range .Regressions}}<tr><td><a href="#{{.ID}}">{{.ID}}</a></td><td>regression</td><td>{{.From}} → {{.To}}</td></tr>{{end}}
    {{range .Failing}}<tr><td><a href="#{{.}}">{{.}}</a></td><td>failing</td><td>no waiver excuses it</td></tr>{{end}}
    {{range .Expired}}<tr><td><a href="#{{.ID}}">{{.ID}}</a></td><td>waiver expired</td><td>{{.Expires}} · {{.Owner}} · {{.Reason}}</td></tr>{{end}}
    {{range .Unused}}<tr><td><a href="#{{.ID}}">{{.ID}}</a></td><td>waiver unused</td><td>{{.Owner}} · {{.Reason}}</td></tr>{{end}}
    {{range .Waived}}<tr><td><a href="#{{.ID}}">{{.ID}}</a></td><td>waived</td><td>until {{.Expires}} · {{.Owner}} · {{.Reason}}</td></tr>{{end}}
    {{range .Improvements}}<tr><td><a href="#{{.ID}}">{{.ID}}</a></td><td>improved</td><td>{{.From}} → {{.To}}</td></tr>{{end}}
  </table>
  {{end}}

  <h2>Requirements</h2>
  <table id="matrix">
    <tr><th>Id</th><th>Requirement</th><th>Level</th><th>Basis</th><th>Status</th><th>Scenarios</th><th>Source</th></tr>
    {{range .Requirements}}
    <tr><td><a href="#{{.ID}}">{{.ID}}</a></td><td>{{.Title}}</td><td>{{.Effective}}{{if ne .Effective .Level}} (catalogue: {{.Level}}){{end}}</td><td>{{.Basis}}</td>
        <td><span class="st {{lower .Status}}">{{.Status}}</span></td><td>{{len .Scenarios}}</td><td>{{.Source}}</td></tr>
    {{end}}
  </table>

  {{$run := .}}
  {{range .Requirements}}
  <section class="req {{lower .Status}}" id="{{.ID}}">
    <h3>{{.ID}} · {{.Title}} <span class="st {{lower .Status}}">{{.Status}}</span></h3>
    <p>{{.English}}</p>
    {{if .Danish}}<p class="da" lang="da">“{{.Danish}}”</p>{{end}}
    <p><small>{{.Effective}} · {{.Basis}} · {{.Source}}</small></p>
    {{if .Reason}}<p><b>{{.Status}}:</b> {{.Reason}}</p>{{end}}
    {{range .Scenarios}}{{$s := scenario $run .}}
      <details{{if eq $s.Status "FAIL"}} open{{end}}>
        <summary><span class="st {{lower $s.Status}}">{{$s.Status}}</span> {{$s.Name}} <small>({{$s.Feature}}, {{dur $s.Duration}})</small></summary>
        {{if $s.Failure}}<p class="failure">{{$s.Failure}}</p>{{end}}
        {{if $s.Unsupported}}<p>Unsupported: {{$s.Unsupported}}</p>{{end}}
        {{if eq $s.Status "BLOCKED"}}<p>Blocked by {{if $s.BlockedBy}}<a href="#{{$s.BlockedBy}}">{{$s.BlockedBy}}</a>{{else}}a failed precondition{{end}}: not a verdict on this requirement.</p>{{end}}
        {{if $s.NotRun}}<p>{{if eq $s.Status "NOT EXERCISED"}}Not exercised{{else}}Not run{{end}}: {{$s.NotRun}}</p>{{end}}
        {{if and $run.Dashboard $s.Journal}}<p><a class="dashboard" href="{{$run.Dashboard}}#from={{$s.Journal.From}}&amp;to={{$s.Journal.To}}">What the gateway saw during this scenario</a> (its dashboard, journal events {{$s.Journal.From}}–{{$s.Journal.To}})</p>{{end}}
        <pre>{{range $s.Steps}}[{{.Status}}] {{.Text}}{{if .Error}}
    {{.Error}}{{end}}
{{end}}</pre>
        {{if $s.Evidence}}<p>Evidence</p><pre>{{range $s.Evidence}}{{.}}
{{end}}</pre>{{end}}
      </details>
    {{end}}
  </section>
  {{end}}
</main>
</body>
</html>
`))
