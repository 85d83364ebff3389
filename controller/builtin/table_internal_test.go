package builtin

import (
	"reflect"
	"strings"
	"testing"
)

// TestTable checks the table of controllers against Config: each row's
// field is a field of Config holding Options with Workers, and the row
// validates that field (a negative Workers there is reported under the
// field's name, by the controller's package).
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, bc := range controllers {
		if seen[bc.name] {
			t.Errorf("controller %s is in the table twice", bc.name)
		}
		seen[bc.name] = true
		var cfg Config
		f := reflect.ValueOf(&cfg).Elem().FieldByName(bc.field)
		if !f.IsValid() {
			t.Errorf("controller %s: Config has no field %s", bc.name, bc.field)
			continue
		}
		w := f.FieldByName("Workers")
		if !w.IsValid() || !w.CanSet() {
			t.Errorf("controller %s: Config.%s has no Workers", bc.name, bc.field)
			continue
		}
		w.SetInt(-1)
		if err := bc.validate(&cfg); err == nil || !strings.HasPrefix(err.Error(), bc.name+": ") {
			t.Errorf("controller %s: a negative Config.%s.Workers gives %v, want an error of package %s", bc.name, bc.field, err, bc.name)
		}
		cfg.Controllers = []string{bc.name}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Config."+bc.field+": ") {
			t.Errorf("controller %s: Validate says %v, want the field Config.%s named", bc.name, err, bc.field)
		}
	}
	if len(Names()) != len(controllers) {
		t.Errorf("Names() has %d names for %d controllers", len(Names()), len(controllers))
	}
}
