package labels_test

import (
	"fmt"

	"github.com/drover-io/drover/api/labels"
)

func ExampleParse() {
	sel, err := labels.Parse("tier in (frontend, backend), app = web, !canary")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sel)

	pod := labels.Set{"app": "web", "tier": "frontend"}
	fmt.Println(sel.Matches(pod))

	canary := labels.Set{"app": "web", "tier": "frontend", "canary": "true"}
	fmt.Println(sel.Matches(canary))

	if app, ok := sel.RequiresExactMatch("app"); ok {
		fmt.Println("index lookup: app =", app)
	}
	// Output:
	// app=web,!canary,tier in (backend,frontend)
	// true
	// false
	// index lookup: app = web
}

func ExampleParse_error() {
	_, err := labels.Parse("app in web")
	fmt.Println(err)
	// Output:
	// labels: parse "app in web": expected '(' after "in", found "web" at position 7
}

func ExampleNewRequirement() {
	r, err := labels.NewRequirement("replicas", labels.GreaterThan, []string{"2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	sel := labels.SelectorFromSet(labels.Set{"app": "db"}).Add(r)
	fmt.Println(sel)
	fmt.Println(sel.Matches(labels.Set{"app": "db", "replicas": "3"}))
	fmt.Println(sel.Matches(labels.Set{"app": "db", "replicas": "many"}))

	_, err = labels.NewRequirement("app", labels.In, nil)
	fmt.Println(err)
	// Output:
	// app=db,replicas>2
	// true
	// false
	// labels: key "app": operator "in" needs at least one value, got 0
}

func ExampleNothing() {
	sel := labels.Nothing()
	fmt.Println(sel)
	fmt.Println(sel.Matches(labels.Set{}), sel.Empty())
	// Output:
	// drover.io/nothing,!drover.io/nothing
	// false false
}
