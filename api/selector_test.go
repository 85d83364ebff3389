package api

import (
	"slices"
	"testing"

	"github.com/drover-io/drover/api/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLabelSelectorAsSelector(t *testing.T) {
	web := labels.Set{"app": "web", "tier": "frontend"}
	db := labels.Set{"app": "db", "tier": "backend", "canary": ""}

	s, err := LabelSelectorAsSelector(nil)
	require.NoError(t, err)
	assert.False(t, s.Matches(web), "nil matches nothing")
	assert.False(t, s.Matches(labels.Set{}), "nil matches nothing")

	s, err = LabelSelectorAsSelector(&LabelSelector{})
	require.NoError(t, err)
	assert.True(t, s.Empty())
	assert.True(t, s.Matches(web), "empty matches everything")
	assert.True(t, s.Matches(nil), "empty matches everything")

	for _, c := range []struct {
		name    string
		sel     LabelSelector
		str     string
		web, db bool
	}{
		{"matchLabels", LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "frontend"}}, "app=web,tier=frontend", true, false},
		{"In", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "app", Operator: LabelSelectorOpIn, Values: []string{"web", "api"}}}}, "app in (api,web)", true, false},
		{"NotIn", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "tier", Operator: LabelSelectorOpNotIn, Values: []string{"frontend"}}}}, "tier notin (frontend)", false, true},
		{"Exists", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "canary", Operator: LabelSelectorOpExists}}}, "canary", false, true},
		{"DoesNotExist", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "canary", Operator: LabelSelectorOpDoesNotExist}}}, "!canary", true, false},
		{"both, ANDed", LabelSelector{
			MatchLabels:      map[string]string{"tier": "backend"},
			MatchExpressions: []LabelSelectorRequirement{{Key: "app", Operator: LabelSelectorOpIn, Values: []string{"db"}}},
		}, "app in (db),tier=backend", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := LabelSelectorAsSelector(&c.sel)
			require.NoError(t, err)
			assert.Equal(t, c.str, s.String())
			assert.Equal(t, c.web, s.Matches(web))
			assert.Equal(t, c.db, s.Matches(db))
			assert.Empty(t, ValidateLabelSelector(&c.sel, NewPath("selector")))
		})
	}
}

func TestLabelSelectorAsSelectorErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		sel  LabelSelector
		want []string // substrings of the error
	}{
		{"bad matchLabels key", LabelSelector{MatchLabels: map[string]string{"a b": "x"}}, []string{"matchLabels", `"a b"`}},
		{"bad matchLabels value", LabelSelector{MatchLabels: map[string]string{"app": "a b"}}, []string{`"a b"`, `"app"`}},
		{"unknown operator", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "app", Operator: LabelSelectorOpIn, Values: []string{"web"}},
			{Key: "tier", Operator: "Equals", Values: []string{"x"}},
		}}, []string{"matchExpressions[1]", `"tier"`, `"Equals"`, "In, NotIn, Exists or DoesNotExist"}},
		{"In without values", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "app", Operator: LabelSelectorOpIn}}}, []string{"matchExpressions[0]", `"app"`}},
		{"Exists with values", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "app", Operator: LabelSelectorOpExists, Values: []string{"x"}}}}, []string{"matchExpressions[0]", `"app"`}},
		{"bad key", LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "-app", Operator: LabelSelectorOpExists}}}, []string{`"-app"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LabelSelectorAsSelector(&c.sel)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "api: label selector")
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotEmpty(t, ValidateLabelSelector(&c.sel, NewPath("selector")), "ValidateLabelSelector agrees")
		})
	}
}

func TestValidateLabelSelector(t *testing.T) {
	p := NewPath("spec", "selector")
	for _, c := range []struct {
		name string
		sel  *LabelSelector
		want []string
	}{
		{"nil", nil, nil},
		{"empty", &LabelSelector{}, nil},
		{"bad matchLabels", &LabelSelector{MatchLabels: map[string]string{"a b": "c", "ok": "d e"}},
			wants(wInv("spec.selector.matchLabels"), wInv("spec.selector.matchLabels"))},
		{"In without values", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "k", Operator: LabelSelectorOpNotIn}}},
			wants(wReq("spec.selector.matchExpressions[0].values"))},
		{"DoesNotExist with values", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "k", Operator: LabelSelectorOpDoesNotExist, Values: []string{"v"}}}},
			wants(wForb("spec.selector.matchExpressions[0].values"))},
		{"unknown operator", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "k", Operator: "Gt", Values: []string{"1"}}}},
			wants(wNS("spec.selector.matchExpressions[0].operator"))},
		{"bad key and value", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "", Operator: LabelSelectorOpIn, Values: []string{"ok", "not ok"}}}},
			wants(wInv("spec.selector.matchExpressions[0].key"), wInv("spec.selector.matchExpressions[0].values[1]"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := ValidateLabelSelector(c.sel, p)
			assert.ElementsMatch(t, c.want, errPairs(errs), "got: %v", errs)
		})
	}
	errs := ValidateLabelSelector(&LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "k", Operator: "Equals"}}}, p)
	require.Len(t, errs, 1)
	assert.Equal(t, `spec.selector.matchExpressions[0].operator: Unsupported value: "Equals": `+
		`supported values: "DoesNotExist", "Exists", "In", "NotIn"`, errs[0].Error())
}

// FuzzLabelSelector checks that ValidateLabelSelector accepts exactly the
// selectors LabelSelectorAsSelector converts, and that the conversion
// matches what the selector says.
func FuzzLabelSelector(f *testing.F) {
	f.Add("app", "web", "tier", "In", "frontend", "")
	f.Add("app", "", "tier", "NotIn", "a", "b")
	f.Add("example.com/app", "x", "canary", "Exists", "", "")
	f.Add("a b", "x", "k", "DoesNotExist", "v", "")
	f.Add("app", "web", "k", "Gt", "1", "")
	f.Add("app", "-", "", "In", "", "")
	f.Fuzz(func(t *testing.T, mk, mv, ek, op, v1, v2 string) {
		var values []string
		for _, v := range []string{v1, v2} {
			if v != "" {
				values = append(values, v)
			}
		}
		sel := &LabelSelector{
			MatchLabels:      map[string]string{mk: mv},
			MatchExpressions: []LabelSelectorRequirement{{Key: ek, Operator: LabelSelectorOperator(op), Values: values}},
		}
		errs := ValidateLabelSelector(sel, NewPath("selector"))
		s, err := LabelSelectorAsSelector(sel)
		if (len(errs) == 0) != (err == nil) {
			t.Fatalf("ValidateLabelSelector: %v; LabelSelectorAsSelector: %v", errs, err)
		}
		if err != nil {
			return
		}
		for _, set := range []labels.Set{{mk: mv}, {mk: mv, ek: v1}, {ek: v2}} {
			if got, want := s.Matches(set), referenceMatches(sel, set); got != want {
				t.Fatalf("selector %q on %v: got %v, want %v", s.String(), set, got, want)
			}
		}
	})
}

// referenceMatches is the meaning of a LabelSelector, written out plainly.
func referenceMatches(sel *LabelSelector, set labels.Set) bool {
	for k, v := range sel.MatchLabels {
		if got, ok := set[k]; !ok || got != v {
			return false
		}
	}
	for _, e := range sel.MatchExpressions {
		v, ok := set[e.Key]
		switch e.Operator {
		case LabelSelectorOpIn:
			if !ok || !slices.Contains(e.Values, v) {
				return false
			}
		case LabelSelectorOpNotIn:
			if ok && slices.Contains(e.Values, v) {
				return false
			}
		case LabelSelectorOpExists:
			if !ok {
				return false
			}
		case LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		}
	}
	return true
}
