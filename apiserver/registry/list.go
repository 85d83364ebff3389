package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/store"
)

// ListOptions are the options of List and Watch.
type ListOptions struct {
	// LabelSelector and FieldSelector pick the objects; the zero selectors
	// match everything. Field selectors may use metadata.name,
	// metadata.namespace (namespaced kinds) and the fields of
	// Options.Fields.
	LabelSelector labels.Selector
	FieldSelector fields.Selector
	// Limit, if greater than 0, is the most objects a List returns; the
	// list then carries a continue token if more follow. Objects that the
	// selectors reject do not count.
	Limit int64
	// Continue is the token of the previous page. The next page is read
	// at the same revision as the first.
	Continue string
	// ResourceVersion: for List, "" reads the latest state, "0" any state,
	// and a revision a state not older than it (or exactly it, with
	// ResourceVersionMatch "Exact"). For Watch, "" and "0" send the current
	// state as ADDED events and then the changes; a revision sends the
	// changes after it.
	ResourceVersion string
	// ResourceVersionMatch is "", "NotOlderThan" or "Exact" (List only).
	ResourceVersionMatch string
	// AllowBookmarks asks a Watch for BOOKMARK events.
	AllowBookmarks bool
}

// The values of ListOptions.ResourceVersionMatch.
const (
	MatchNotOlderThan = "NotOlderThan"
	MatchExact        = "Exact"
)

// continueToken is the content of a continue token.
type continueToken struct {
	// V is the token format, 1.
	V int `json:"v"`
	// Rev is the revision the list is read at.
	Rev int64 `json:"rev"`
	// After is the key of the last object returned.
	After string `json:"after"`
}

func encodeContinue(rev int64, after string) string {
	b, _ := json.Marshal(continueToken{V: 1, Rev: rev, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func (r *Registry) decodeContinue(s, prefix string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err == nil && (t.V != 1 || t.Rev <= 0 || !strings.HasPrefix(t.After, prefix)) {
		err = errors.New("not a continue token of this list")
	}
	if err != nil {
		return continueToken{}, api.NewBadRequest("invalid continue token: %v", err)
	}
	return t, nil
}

// checkSelectors refuses field selectors on fields the kind does not have.
func (r *Registry) checkSelectors(opts ListOptions) error {
	for _, req := range opts.FieldSelector.Requirements() {
		if !r.fieldNames[req.Field] {
			return api.NewBadRequest("field label not supported: %s (%s supports %s)",
				req.Field, r.gr, strings.Join(sortedKeys(r.fieldNames), ", "))
		}
	}
	return nil
}

// matches reports whether obj passes the selectors of opts.
func (r *Registry) matches(obj api.Object, opts *ListOptions) bool {
	if !opts.LabelSelector.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
		return false
	}
	if opts.FieldSelector.Empty() {
		return true
	}
	return opts.FieldSelector.Matches(r.fieldSet(obj))
}

// List returns the objects in namespace ("" for every namespace; it must be
// "" for cluster-scoped kinds) that match the selectors, as a list of the
// kind (for example *api.PodList) whose resourceVersion is the revision it
// was read at.
func (r *Registry) List(ctx context.Context, namespace string, opts ListOptions) (api.ListObject, error) {
	prefix, err := r.listPrefix(namespace)
	if err != nil {
		return nil, err
	}
	if err := r.checkSelectors(opts); err != nil {
		return nil, err
	}
	if opts.Limit < 0 {
		return nil, api.NewBadRequest("limit must not be negative, got %d", opts.Limit)
	}
	rv, err := parseRV("resourceVersion", opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	var rev int64
	var after string
	stale := false
	switch opts.ResourceVersionMatch {
	case "", MatchNotOlderThan, MatchExact:
	default:
		return nil, api.NewBadRequest("invalid resourceVersionMatch %q: want %q or %q", opts.ResourceVersionMatch, MatchNotOlderThan, MatchExact)
	}
	switch {
	case opts.Continue != "":
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" || opts.ResourceVersionMatch != "" {
			return nil, api.NewBadRequest("specifying resourceVersion or resourceVersionMatch is not allowed when using continue")
		}
		t, err := r.decodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
		rev, after = t.Rev, t.After
	case opts.ResourceVersionMatch != "" && opts.ResourceVersion == "":
		return nil, api.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	case opts.ResourceVersionMatch == MatchExact:
		if rv == 0 {
			return nil, api.NewBadRequest("resourceVersionMatch %q is forbidden for resourceVersion \"0\"", MatchExact)
		}
		rev = rv
	case opts.ResourceVersion == "0":
		stale = true
	case rv > 0:
		if err := r.checkNotTooLarge(ctx, rv); err != nil {
			return nil, err
		}
	}

	list := r.kind.NewList()
	items := reflectItems(list)
	items.Set(reflect.MakeSlice(items.Type(), 0, 0))
	// Without selectors every key is an item, so the store can count the
	// items after a page (remainingItemCount), as Kubernetes reports.
	count := opts.Limit > 0 && opts.LabelSelector.Empty() && opts.FieldSelector.Empty()
	var n int64
	for {
		fetch := 0
		if opts.Limit > 0 {
			fetch = int(opts.Limit - n)
		}
		res, err := r.st.List(ctx, prefix, store.ListOptions{Revision: rev, Limit: fetch, After: after, Stale: stale, CountRemaining: count})
		if err != nil {
			if errors.Is(err, store.ErrCompacted) {
				if opts.Continue != "" {
					return nil, api.NewResourceExpired("the provided continue parameter is too old to display a consistent list result: list again without it")
				}
				return nil, api.NewResourceExpired("too old resource version: %d", rev)
			}
			return nil, r.storeError(err, "")
		}
		rev = res.Revision
		for i, kv := range res.KVs {
			obj, err := r.decode(kv)
			if err != nil {
				return nil, err
			}
			after = kv.Key
			if !r.matches(obj, &opts) {
				continue
			}
			items.Set(reflect.Append(items, reflect.ValueOf(obj).Elem()))
			n++
			if opts.Limit > 0 && n == opts.Limit {
				if i < len(res.KVs)-1 || res.More {
					list.GetListMeta().Continue = encodeContinue(rev, after)
					if count {
						remaining := res.Remaining + int64(len(res.KVs)-1-i)
						list.GetListMeta().RemainingItemCount = &remaining
					}
				}
				list.GetListMeta().ResourceVersion = strconv.FormatInt(rev, 10)
				return list, nil
			}
		}
		if !res.More {
			break
		}
	}
	list.GetListMeta().ResourceVersion = strconv.FormatInt(rev, 10)
	return list, nil
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// reflectItems returns the Items field of a list of the registry's kind.
func reflectItems(list api.ListObject) reflect.Value {
	return reflect.ValueOf(list).Elem().FieldByName("Items")
}
