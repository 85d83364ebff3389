package fields_test

import (
	"fmt"

	"github.com/drover-io/drover/api/fields"
)

func ExampleParse() {
	sel, err := fields.Parse("status.phase!=Running,spec.nodeName=n1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sel)

	pod := fields.Set{"spec.nodeName": "n1", "status.phase": "Pending"}
	fmt.Println(sel.Matches(pod))

	if node, ok := sel.RequiresExactMatch("spec.nodeName"); ok {
		fmt.Println("index lookup: spec.nodeName =", node)
	}

	// A field the object does not have compares as "".
	unscheduled, _ := fields.Parse("spec.nodeName=")
	fmt.Println(unscheduled.Matches(fields.Set{"status.phase": "Pending"}))
	// Output:
	// spec.nodeName=n1,status.phase!=Running
	// true
	// index lookup: spec.nodeName = n1
	// true
}

func ExampleEscapeValue() {
	sel := fields.OneTermEqualSelector("metadata.annotation", "a=b,c")
	fmt.Println(sel)

	back, _ := fields.Parse(sel.String())
	fmt.Println(back.Requirements()[0].Value)
	// Output:
	// metadata.annotation=a\=b\,c
	// a=b,c
}

func ExampleSelector_Transform() {
	supported := map[string]bool{"metadata.name": true, "spec.nodeName": true, "status.phase": true}
	sel, _ := fields.Parse("spec.nodeName=n1,spec.color=blue")
	_, err := sel.Transform(func(field, value string) (string, string, error) {
		if !supported[field] {
			return "", "", fmt.Errorf("field %q is not supported for pods", field)
		}
		return field, value, nil
	})
	fmt.Println(err)
	// Output:
	// fields: transform "spec.color=blue": field "spec.color" is not supported for pods
}
