package verbs

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/drover-io/drover/api"
)

// resolveKind finds the kind a user named on the command line: a
// resource ("deployments"), its singular ("deployment"), a short name
// ("deploy"), the kind ("Deployment"), any of them qualified by the group
// ("deployments.apps"), case-insensitively, from the scheme.
func resolveKind(s *api.Scheme, name string) (api.Kind, error) {
	n := strings.ToLower(name)
	group, qualified := "", false
	if i := strings.IndexByte(n, '.'); i >= 0 {
		n, group, qualified = n[:i], n[i+1:], true
	}
	var found []api.Kind
	for _, k := range s.Kinds() {
		if qualified && k.Group != group {
			continue
		}
		if matchesKind(k, n) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return api.Kind{}, fmt.Errorf("the server doesn't have a resource type %q: use a type such as pods, deployments (deploy), services (svc) or nodes", name)
	case 1:
		return found[0], nil
	}
	// Prefer the core group, then apps, as kubectl's priority does.
	sort.SliceStable(found, func(i, j int) bool { return groupRank(found[i].Group) < groupRank(found[j].Group) })
	return found[0], nil
}

func groupRank(g string) int {
	switch g {
	case "":
		return 0
	case "apps":
		return 1
	}
	return 2
}

func matchesKind(k api.Kind, n string) bool {
	if n == k.Resource || n == strings.ToLower(k.Kind) || n == k.Singular {
		return true
	}
	for _, sn := range k.ShortNames {
		if n == sn {
			return true
		}
	}
	return false
}

// category returns the kinds of a category ("all"), in kubectl's order:
// pods, services, daemonsets, deployments, replicasets, jobs, then the
// others by group and kind.
func category(s *api.Scheme, name string) []api.Kind {
	order := map[string]int{"Pod": 0, "Service": 1, "DaemonSet": 2, "Deployment": 3, "ReplicaSet": 4, "StatefulSet": 5, "Job": 6, "CronJob": 7}
	var out []api.Kind
	for _, k := range s.Kinds() {
		for _, c := range k.Categories {
			if c == name {
				out = append(out, k)
				break
			}
		}
	}
	rank := func(k api.Kind) int {
		if r, ok := order[k.Kind]; ok {
			return r
		}
		return len(order)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// target is a kind with the names asked for (none: all of them).
type target struct {
	kind  api.Kind
	names []string
}

// resolveArgs resolves kubectl's forms of naming objects: "TYPE",
// "TYPE NAME...", "TYPE/NAME..." and "TYPE1,TYPE2", where a TYPE may also
// be a category ("all").
func resolveArgs(s *api.Scheme, args []string) ([]target, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("you must specify the type of resource: such as `pods` or `deployments/web`")
	}
	if strings.Contains(args[0], "/") {
		var out []target
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return nil, fmt.Errorf("%q: there is no need to mix TYPE/NAME and TYPE NAME: use TYPE/NAME for every argument", a)
			}
			k, err := resolveKind(s, typ)
			if err != nil {
				return nil, err
			}
			out = append(out, target{kind: k, names: []string{name}})
		}
		return out, nil
	}
	var out []target
	for _, typ := range strings.Split(args[0], ",") {
		if ks := category(s, typ); len(ks) > 0 {
			for _, k := range ks {
				out = append(out, target{kind: k, names: args[1:]})
			}
			continue
		}
		k, err := resolveKind(s, typ)
		if err != nil {
			return nil, err
		}
		out = append(out, target{kind: k, names: args[1:]})
	}
	if len(out) > 1 && len(args) > 1 {
		return nil, fmt.Errorf("names cannot be given with several types (%s): use TYPE/NAME", args[0])
	}
	return out, nil
}

// items returns the objects of a list as api.Objects.
func items(list api.ListObject) []api.Object {
	v := reflect.ValueOf(list).Elem().FieldByName("Items")
	out := make([]api.Object, v.Len())
	for i := range out {
		out[i] = v.Index(i).Addr().Interface().(api.Object)
	}
	return out
}

// podArg resolves a verb's pod argument, NAME or pod/NAME; another kind
// is an error that starts with what the verb takes ("exec runs in pods").
func podArg(scheme *api.Scheme, arg, takes string) (string, error) {
	typ, name, ok := strings.Cut(arg, "/")
	if !ok {
		return arg, nil
	}
	k, err := resolveKind(scheme, typ)
	if err != nil {
		return "", err
	}
	if k.Kind != "Pod" {
		return "", fmt.Errorf("%s, not %s: such as pod/%s", takes, qualifiedResource(k), name)
	}
	return name, nil
}
