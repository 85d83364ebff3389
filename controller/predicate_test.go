package controller_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
)

func cm(gen int64, rv string, labels, annotations map[string]string) *api.ConfigMap {
	return &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "c", Generation: gen, ResourceVersion: rv,
		Labels: labels, Annotations: annotations}}
}

func TestPredicates(t *testing.T) {
	base := cm(1, "10", map[string]string{"a": "1"}, map[string]string{"x": "1"})
	update := func(obj *api.ConfigMap) controller.Event {
		return controller.Event{Type: controller.Update, Old: base, Object: obj}
	}
	specChange := update(cm(2, "11", map[string]string{"a": "1"}, map[string]string{"x": "1"}))
	labelChange := update(cm(1, "11", map[string]string{"a": "2"}, map[string]string{"x": "1"}))
	annotationChange := update(cm(1, "11", map[string]string{"a": "1"}, map[string]string{"x": "2"}))
	noChange := update(cm(1, "10", map[string]string{"a": "1"}, map[string]string{"x": "1"}))
	create := controller.Event{Type: controller.Create, Object: base}
	del := controller.Event{Type: controller.Delete, Object: base}

	for _, tc := range []struct {
		name string
		p    controller.Predicate
		want map[string]bool // by event; create and delete always pass
	}{
		{"GenerationChanged", controller.GenerationChanged(),
			map[string]bool{"spec": true, "labels": false, "annotations": false, "none": false}},
		{"LabelsChanged", controller.LabelsChanged(),
			map[string]bool{"spec": false, "labels": true, "annotations": false, "none": false}},
		{"AnnotationsChanged", controller.AnnotationsChanged(),
			map[string]bool{"spec": false, "labels": false, "annotations": true, "none": false}},
		{"ResourceVersionChanged", controller.ResourceVersionChanged(),
			map[string]bool{"spec": true, "labels": true, "annotations": true, "none": false}},
		{"Or", controller.Or(controller.GenerationChanged(), controller.LabelsChanged()),
			map[string]bool{"spec": true, "labels": true, "annotations": false, "none": false}},
		{"And", controller.And(controller.ResourceVersionChanged(), controller.Not(controller.GenerationChanged())),
			map[string]bool{"spec": false, "labels": true, "annotations": true, "none": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := map[string]controller.Event{"spec": specChange, "labels": labelChange, "annotations": annotationChange, "none": noChange}
			for name, ev := range events {
				assert.Equal(t, tc.want[name], tc.p.Allow(ev), "update of %s", name)
			}
			if tc.name != "And" {
				assert.True(t, tc.p.Allow(create), "create")
				assert.True(t, tc.p.Allow(del), "delete")
			}
		})
	}
	assert.True(t, controller.And().Allow(create), "And of nothing")
	assert.False(t, controller.Or().Allow(create), "Or of nothing")
	onlyDeletes := controller.OnTypes(controller.Delete)
	assert.False(t, onlyDeletes.Allow(create))
	assert.False(t, onlyDeletes.Allow(specChange))
	assert.True(t, onlyDeletes.Allow(del))
	assert.Equal(t, "update", controller.Update.String())
}

func TestEnqueueOwner(t *testing.T) {
	yes := true
	owned := func(apiVersion, kind string, controllerRef bool) *api.ConfigMap {
		ref := api.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: "owner", UID: "u1"}
		if controllerRef {
			ref.Controller = &yes
		}
		return &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "c", OwnerReferences: []api.OwnerReference{ref}}}
	}
	ctx := context.Background()
	fn := controller.EnqueueOwner(widgetKind)
	assert.Equal(t, []controller.Request{{Namespace: "ns", Name: "owner"}}, fn(ctx, owned("example.com/v1", "Widget", true)))
	assert.Equal(t, []controller.Request{{Namespace: "ns", Name: "owner"}}, fn(ctx, owned("example.com/v2", "Widget", true)), "any version")
	assert.Empty(t, fn(ctx, owned("example.com/v1", "Widget", false)), "not the controller")
	assert.Empty(t, fn(ctx, owned("other.com/v1", "Widget", true)), "other group")
	assert.Empty(t, fn(ctx, owned("v1", "Widget", true)), "core group")
	assert.Empty(t, fn(ctx, owned("example.com/v1", "Gadget", true)), "other kind")
	assert.Empty(t, fn(ctx, &api.ConfigMap{}), "no owner")

	node := api.Kind{GroupVersionKind: api.GroupVersionKind{Version: "v1", Kind: "Node"}, Namespaced: false}
	assert.Equal(t, []controller.Request{{Name: "owner"}}, controller.EnqueueOwner(node)(ctx, owned("v1", "Node", true)),
		"a cluster-scoped owner has no namespace")
	assert.Equal(t, []controller.Request{{Namespace: "ns", Name: "c"}}, controller.EnqueueObject(ctx, base()))
}

func base() *api.ConfigMap { return cm(1, "1", nil, nil) }
