package twin

import (
	"errors"
	"testing"
)

// Every field of the schema, and every property the twin sets on a
// company's feature, has one rule in the list of company fields.
func TestCompanyFieldsCoverTheSchema(t *testing.T) {
	rules := map[string]int{}
	for _, c := range CompanyFields() {
		rules[c.Name]++
		if c.Rule < CompanyGives || c.Rule > TwinGives {
			t.Errorf("%s: rule %d", c.Name, c.Rule)
		}
	}
	for _, f := range Schema() {
		if rules[f.Name] != 1 {
			t.Errorf("schema field %s has %d company rules, want 1", f.Name, rules[f.Name])
		}
	}
	for _, p := range []string{PropPilot, PropCompany, PropFromDefault} {
		if rules[p] != 1 {
			t.Errorf("%s has %d company rules, want 1", p, rules[p])
		}
	}
}

func TestCheckCompanyFeature(t *testing.T) {
	for _, c := range []struct {
		name  string
		f     Feature
		field string // "" when accepted
	}{
		{"plain", Feature{Status: Standing}, ""},
		{"planned", Feature{Status: Planned}, ""},
		{"demolished", Feature{Status: Demolished}, ""},
		{"moved", Feature{Status: Moved, Lineage: "kiruna-kyrka"}, "properties.status"},
		{"lineage", Feature{Status: Standing, Lineage: "kiruna-kyrka"}, "properties.lineage"},
		{"source and confidence are replaced, not refused", Feature{Source: "Kiruna kommun", Confidence: Sourced}, ""},
	} {
		err := CheckCompanyFeature(&c.f)
		var fe *FieldError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, ErrNotForCompanies)):
			t.Errorf("%s: %v, want an error on %s", c.name, err, c.field)
		}
	}
	f := Feature{Source: "Kiruna kommun", Confidence: Sourced, Props: map[string]any{"company": "kommun", "x": 1.0}}
	CompanyGiven(&f, "acme", "p1")
	if f.Source != "acme" || f.Confidence != "" || f.Props["company"] != "acme" || f.Props["pilot"] != "p1" || f.Props["x"] != 1.0 {
		t.Errorf("CompanyGiven: %+v", f)
	}
}
