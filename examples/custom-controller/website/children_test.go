package website

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

// The pure core, called directly: no server, no goroutines.

func testWebsite() *Website {
	w := &Website{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello", UID: "uid-1", Generation: 3},
		Spec:       WebsiteSpec{Image: "nginx:1.27", Replicas: new(int32(2)), Port: 8080},
	}
	return w
}

// Applying the spec to what the API server stored (defaults added) must
// change nothing, or the controller would update on every call.
func TestApplyIsStableOverServerDefaults(t *testing.T) {
	w := testWebsite()

	d := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello"}}
	applyDeployment(d, w)
	api.Default(d)
	again := api.DeepCopy(d)
	applyDeployment(again, w)
	if !reflect.DeepEqual(again, d) {
		t.Errorf("applyDeployment changed a defaulted Deployment:\n got %+v\nwant %+v", again.Spec, d.Spec)
	}

	s := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello"}}
	applyService(s, w)
	api.Default(s)
	s.Spec.ClusterIP = "10.0.0.7" // allocated by the server
	sAgain := api.DeepCopy(s)
	applyService(sAgain, w)
	if !reflect.DeepEqual(sAgain, s) {
		t.Errorf("applyService changed a defaulted Service:\n got %+v\nwant %+v", sAgain.Spec, s.Spec)
	}
}

func TestApplyDeploymentKeepsWhatOthersSet(t *testing.T) {
	w := testWebsite()
	d := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello"}}
	applyDeployment(d, w)
	d.Labels["team"] = "web"
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, api.Container{Name: "log-shipper", Image: "fluent-bit"})
	d.Spec.Template.Spec.Containers[0].Image = "httpd"

	w.Spec.Replicas = new(int32(4))
	applyDeployment(d, w)
	if d.Labels["team"] != "web" || d.Labels["app"] != "hello" {
		t.Errorf("labels %v, want team=web kept and app=hello", d.Labels)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 2 || cs[0].Image != "nginx:1.27" || cs[1].Image != "fluent-bit" {
		t.Errorf("containers %+v, want web put back to nginx:1.27 and the sidecar kept", cs)
	}
	if *d.Spec.Replicas != 4 {
		t.Errorf("replicas %d, want 4", *d.Spec.Replicas)
	}
	if len(d.OwnerReferences) != 1 {
		t.Errorf("owner references %+v, want one", d.OwnerReferences)
	}
}

func TestCheckOwner(t *testing.T) {
	w := testWebsite()
	d := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "hello"}}
	if err := checkOwner(&d.ObjectMeta, "Deployment", w); !errors.Is(err, ErrNotOwned) {
		t.Errorf("no owner: got %v, want ErrNotOwned", err)
	}
	applyDeployment(d, w)
	if err := checkOwner(&d.ObjectMeta, "Deployment", w); err != nil {
		t.Errorf("owned: got %v", err)
	}
	w.UID = "uid-2" // a new Website of the same name
	if err := checkOwner(&d.ObjectMeta, "Deployment", w); !errors.Is(err, ErrNotOwned) {
		t.Errorf("owned by an earlier Website: got %v, want ErrNotOwned", err)
	}
}

func TestNextStatus(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	w := testWebsite()
	dep := func(gen, observed int64, ready int32) *api.Deployment {
		return &api.Deployment{
			ObjectMeta: api.ObjectMeta{Generation: gen},
			Status:     api.DeploymentStatus{ObservedGeneration: observed, ReadyReplicas: ready},
		}
	}
	svc := &api.Service{}
	for _, tc := range []struct {
		name    string
		dep     *api.Deployment
		svc     *api.Service
		problem error
		status  api.ConditionStatus
		reason  string
		ready   int32
		url     string
	}{
		{"nothing yet", nil, nil, nil, api.ConditionFalse, ReasonRolloutInProgress, 0, ""},
		{"not observed", dep(2, 1, 2), svc, nil, api.ConditionFalse, ReasonRolloutInProgress, 2, "http://hello.default.svc:8080"},
		{"some ready", dep(1, 1, 1), svc, nil, api.ConditionFalse, ReasonNotReady, 1, "http://hello.default.svc:8080"},
		{"all ready", dep(1, 1, 2), svc, nil, api.ConditionTrue, ReasonReady, 2, "http://hello.default.svc:8080"},
		{"no service", dep(1, 1, 2), nil, nil, api.ConditionFalse, ReasonRolloutInProgress, 2, ""},
		{"in the way", nil, svc, &NotOwnedError{Kind: "Deployment", Key: "default/hello"}, api.ConditionFalse, ReasonNotOwned, 0, "http://hello.default.svc:8080"},
		{"failed", dep(1, 1, 2), svc, errors.New("boom"), api.ConditionFalse, ReasonFailed, 2, "http://hello.default.svc:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := nextStatus(w, tc.dep, tc.svc, tc.problem, now)
			c := st.Condition(ConditionReady)
			if st.ObservedGeneration != 3 || st.ReadyReplicas != tc.ready || st.URL != tc.url {
				t.Errorf("status %+v, want observedGeneration 3, %d ready, url %q", st, tc.ready, tc.url)
			}
			if c == nil || c.Status != tc.status || c.Reason != tc.reason || c.ObservedGeneration != 3 || !c.LastTransitionTime.Equal(api.NewTime(now)) {
				t.Errorf("Ready %+v, want %s %s at %v", c, tc.status, tc.reason, now)
			}
		})
	}
}

func TestSetConditionKeepsTransitionTime(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	other := Condition{Type: "Other", Status: api.ConditionTrue}
	conds := setCondition([]Condition{other}, Condition{Type: ConditionReady, Status: api.ConditionFalse, Reason: "A"}, t0)

	same := setCondition(conds, Condition{Type: ConditionReady, Status: api.ConditionFalse, Reason: "B"}, t1)
	if c := same[1]; c.Reason != "B" || !c.LastTransitionTime.Equal(api.NewTime(t0)) {
		t.Errorf("same status: %+v, want reason B and the time of the transition, %v", c, t0)
	}
	flipped := setCondition(same, Condition{Type: ConditionReady, Status: api.ConditionTrue}, t1)
	if c := flipped[1]; !c.LastTransitionTime.Equal(api.NewTime(t1)) {
		t.Errorf("new status: %+v, want transition time %v", c, t1)
	}
	if flipped[0] != other || len(flipped) != 2 {
		t.Errorf("conditions %+v, want Other kept in place", flipped)
	}
	if conds[1].Reason != "A" {
		t.Errorf("setCondition modified its input: %+v", conds)
	}
}
