// Package labels implements label sets and label selectors: the key/value
// pairs that users attach to objects and the queries that pick objects by
// them ("app=web,tier!=cache", "env in (prod,staging)").
//
// A [Set] holds the labels of one object. A [Selector] is an immutable AND of
// [Requirement]s; build one with [Parse] from the string syntax used on the
// command line and in list requests, with [SelectorFromSet] from an equality
// map, or with [NewRequirement] and [Selector.Add]. [Selector.Matches] takes
// any [Labels], so a caller can match against its own storage without
// copying into a Set, and it does not allocate.
//
// The string syntax and the matching rules are those of Kubernetes label
// selectors:
//
//	key=value, key==value   the label is present and equal to value
//	key!=value              the label is absent, or present with another value
//	key in (v1,v2)          the label is present and equal to one of the values
//	key notin (v1,v2)       the label is absent, or present with none of the values
//	key                     the label is present
//	!key                    the label is absent
//	key>5, key<5            the label is present, is an integer, and is greater/less
//
// Requirements are separated by commas and must all hold. Whitespace around
// tokens is ignored. The empty string selects everything.
package labels

import (
	"slices"
	"strings"
)

// Labels gives read access to the labels of one object. [Set] implements it;
// a store can implement it over its own representation to match selectors
// without copying. Implementations are called from the goroutine that runs
// [Selector.Matches] and must not allocate if matching is to stay free of
// allocations.
type Labels interface {
	// Has reports whether the label key is present (possibly with an empty
	// value).
	Has(key string) bool
	// Get returns the value of the label key, or "" if it is absent.
	Get(key string) string
}

// Set is a map of label keys to values, the labels of one object. A nil Set
// is an empty set.
type Set map[string]string

var _ Labels = Set(nil)

// Has reports whether key is in the set.
func (s Set) Has(key string) bool {
	_, ok := s[key]
	return ok
}

// Get returns the value of key, or "" if key is not in the set.
func (s Set) Get(key string) string {
	return s[key]
}

// String returns the set as "key=value" pairs sorted by key and joined by
// commas, such as "app=web,tier=frontend". For a set of valid labels, this is
// also the string form of [Set.AsSelector].
func (s Set) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s[k])
	}
	return b.String()
}

// AsSelector returns a selector that requires every label in the set, with
// the same value. It is [SelectorFromSet](s).
func (s Set) AsSelector() Selector {
	return SelectorFromSet(s)
}
