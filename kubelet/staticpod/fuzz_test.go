package staticpod

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

// FuzzParseManifest checks that no manifest panics the parser, that what it
// accepts are valid static pods of the node, and that it is deterministic.
func FuzzParseManifest(f *testing.F) {
	for _, seed := range []string{
		podWeb,
		podDB,
		podWeb + "---\n" + strings.Replace(podWeb, "name: web", "name: api", 1),
		`{"apiVersion":"v1","kind":"List","items":[` + podDB + `]}`,
		`{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"i"}]}}]}`,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
		strings.Replace(podWeb, "containers:", "contaners:", 1),
		"{",
		"",
		"---\n---\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  namespace: Bad_NS\nspec:\n  containers: [{name: c, image: i}]\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  tolerations: [{operator: Exists}]\n  containers: [{name: c, image: i}]\n",
	} {
		f.Add([]byte(seed))
	}
	scheme := api.NewDefaultScheme()
	seen := time.Unix(1, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		pods, err := parseManifest(scheme, data, "m.yaml", "node1", seen)
		if err != nil {
			var me *manifestError
			if !errors.As(err, &me) || me.File != "m.yaml" || !strings.Contains(err.Error(), "m.yaml") {
				t.Fatalf("error %v (%T) does not name the file", err, err)
			}
			if pods != nil {
				t.Fatalf("pods %v with an error", names(pods))
			}
			return
		}
		again, err := parseManifest(scheme, data, "m.yaml", "node1", seen)
		if err != nil || len(again) != len(pods) {
			t.Fatalf("second parse: %d pods, %v; first: %d pods", len(again), err, len(pods))
		}
		for i, p := range pods {
			if errs := api.Validate(p); len(errs) > 0 {
				t.Fatalf("pod %s/%s accepted but invalid: %v", p.Namespace, p.Name, errs)
			}
			if p.Spec.NodeName != "node1" || !strings.HasSuffix(p.Name, "-node1") || p.Namespace == "" {
				t.Fatalf("pod %s/%s on %q: not a static pod of node1", p.Namespace, p.Name, p.Spec.NodeName)
			}
			if !IsStatic(p) || MirrorHash(p) != string(p.UID) || p.UID == "" {
				t.Fatalf("pod %s/%s: uid %q, annotations %v", p.Namespace, p.Name, p.UID, p.Annotations)
			}
			if !toleratesAllNoExecute(p.Spec.Tolerations) {
				t.Fatalf("pod %s/%s: tolerations %+v", p.Namespace, p.Name, p.Spec.Tolerations)
			}
			if again[i].UID != p.UID {
				t.Fatalf("pod %s/%s: uid %s, then %s", p.Namespace, p.Name, p.UID, again[i].UID)
			}
		}
	})
}
