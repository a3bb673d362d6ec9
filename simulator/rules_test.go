package simulator

import (
	"crypto/tls"
	"reflect"
	"slices"
	"testing"
)

// ruleDiff lists the requirement tags of the leaf fields where a and b differ.
func ruleDiff(a, b Rules) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		group := va.Type().Field(i)
		for j := range group.Type.NumField() {
			f := group.Type.Field(j)
			if !reflect.DeepEqual(va.Field(i).Field(j).Interface(), vb.Field(i).Field(j).Interface()) {
				out = append(out, f.Tag.Get("req")+" "+group.Name+"."+f.Name)
			}
		}
	}
	return out
}

func TestEveryRuleNamesItsRequirement(t *testing.T) {
	ty := reflect.TypeOf(Rules{})
	for i := range ty.NumField() {
		g := ty.Field(i)
		for j := range g.Type.NumField() {
			if g.Type.Field(j).Tag.Get("req") == "" {
				t.Errorf("rule %s.%s has no req tag", g.Name, g.Type.Field(j).Name)
			}
		}
	}
}

// TestEachDefectChangesExactlyOneRule: a defect is SKAT's rules with one edit, and that
// edit's field implements the requirement the defect says it breaks.
func TestEachDefectChangesExactlyOneRule(t *testing.T) {
	seen := map[string]string{}
	for _, d := range Defects() {
		diff := ruleDiff(SKAT(), d.Apply(SKAT()))
		if len(diff) != 1 {
			t.Errorf("defect %s changes %d rules: %v", d.Name, len(diff), diff)
			continue
		}
		if got := diff[0][:len(d.Requirement)]; got != d.Requirement {
			t.Errorf("defect %s says it breaks %s but changes %s", d.Name, d.Requirement, diff[0])
		}
		if other, dup := seen[diff[0]]; dup {
			t.Errorf("defects %s and %s change the same rule %s", other, d.Name, diff[0])
		}
		seen[diff[0]] = d.Name
	}
	if len(seen) == 0 {
		t.Fatal("no defects")
	}
}

func TestSKATIsTheStrictRules(t *testing.T) {
	r := SKAT()
	if r.TLS.MaxVersion != tls.VersionTLS12 || r.Receipts.TransactionIDElement != "FTPTransaktionsId" {
		t.Errorf("SKAT(): %+v", r)
	}
	// Every boolean rule is on in the strict value.
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		for j := range v.Field(i).NumField() {
			if f := v.Field(i).Field(j); f.Kind() == reflect.Bool && !f.Bool() {
				t.Errorf("SKAT(): %s.%s is off", v.Type().Field(i).Name, v.Field(i).Type().Field(j).Name)
			}
		}
	}
}

// TestObserveRelaxesOnlyWhatClientCertificationJudges: the observer accepts what the client
// requirements judge from the journal and leaves every other rule as SKAT's.
func TestObserveRelaxesOnlyWhatClientCertificationJudges(t *testing.T) {
	got := ruleDiff(SKAT(), Observe.Apply(SKAT()))
	want := []string{"GW-TLS-01 TLS.MaxVersion", "GW-TLS-02 TLS.RequireClientCert", "GW-TLS-03 Data.RequireProtection", "GW-TLS-04 Data.RequireResumption",
		"GW-TLS-05 Data.RequireCloseNotify", "GW-NET-01 Network.PassiveOnly"}
	if !slices.Equal(got, want) {
		t.Errorf("Observe changes %v, want %v", got, want)
	}
}

func TestRulesForConfig(t *testing.T) {
	cfg := DefaultConfig()
	if r := RulesFor(cfg); r.Data.RequireResumption {
		t.Error("session_reuse off still requires resumption")
	}
	cfg.SessionReuse = ReuseRequired
	if d := ruleDiff(SKAT(), RulesFor(cfg)); len(d) != 0 {
		t.Errorf("strict config differs from SKAT(): %v", d)
	}
	cfg.Defects = []string{DefectSharedOut, DefectTLS13}
	if d := ruleDiff(SKAT(), RulesFor(cfg)); !slices.Equal(d, []string{"GW-TLS-01 TLS.MaxVersion", "GW-OUT-01 Out.PrivatePerCertificate"}) {
		t.Errorf("two defects: %v", d)
	}
}
