package admission_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
)

func seconds(s int64) *int64 { return &s }

func TestDefaultTolerationSeconds(t *testing.T) {
	m := admission.DefaultTolerationSeconds(300, 120)
	notReady := api.Toleration{Key: admission.TaintNodeNotReady, Operator: api.TolerationOpExists,
		Effect: api.TaintEffectNoExecute, TolerationSeconds: seconds(300)}
	unreachable := api.Toleration{Key: admission.TaintNodeUnreachable, Operator: api.TolerationOpExists,
		Effect: api.TaintEffectNoExecute, TolerationSeconds: seconds(120)}
	own := func(key string, effect api.TaintEffect, s *int64) api.Toleration {
		return api.Toleration{Key: key, Operator: api.TolerationOpExists, Effect: effect, TolerationSeconds: s}
	}
	for _, tc := range []struct {
		name string
		have []api.Toleration
		want []api.Toleration
	}{
		{"none", nil, []api.Toleration{notReady, unreachable}},
		{"unrelated kept", []api.Toleration{own("gpu", api.TaintEffectNoSchedule, nil)},
			[]api.Toleration{own("gpu", api.TaintEffectNoSchedule, nil), notReady, unreachable}},
		{"own unreachable kept", []api.Toleration{own(admission.TaintNodeUnreachable, api.TaintEffectNoExecute, seconds(5))},
			[]api.Toleration{own(admission.TaintNodeUnreachable, api.TaintEffectNoExecute, seconds(5)), notReady}},
		{"own not-ready forever kept", []api.Toleration{own(admission.TaintNodeNotReady, "", nil)},
			[]api.Toleration{own(admission.TaintNodeNotReady, "", nil), unreachable}},
		{"tolerates everything", []api.Toleration{own("", "", nil)}, []api.Toleration{own("", "", nil)}},
		{"NoSchedule only does not count", []api.Toleration{own(admission.TaintNodeNotReady, api.TaintEffectNoSchedule, nil)},
			[]api.Toleration{own(admission.TaintNodeNotReady, api.TaintEffectNoSchedule, nil), notReady, unreachable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := podAttrs(admission.Create, "default")
			pod := a.Object.(*api.Pod)
			pod.Spec.Tolerations = tc.have
			require.NoError(t, m.Admit(t.Context(), a))
			require.Equal(t, tc.want, pod.Spec.Tolerations)
			// Admitting again changes nothing.
			require.NoError(t, m.Admit(t.Context(), a))
			require.Equal(t, tc.want, pod.Spec.Tolerations)
		})
	}
	t.Run("not on update or status", func(t *testing.T) {
		a := podAttrs(admission.Update, "default")
		require.NoError(t, m.Admit(t.Context(), a))
		require.Empty(t, a.Object.(*api.Pod).Spec.Tolerations)
		a = podAttrs(admission.Create, "default")
		a.Subresource = "status"
		require.NoError(t, m.Admit(t.Context(), a))
		require.Empty(t, a.Object.(*api.Pod).Spec.Tolerations)
	})
	t.Run("other kinds untouched", func(t *testing.T) {
		ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "x"}}
		require.NoError(t, m.Admit(t.Context(), &admission.Attributes{Operation: admission.Create, Kind: namespaceKind, Object: ns}))
	})
	t.Run("negative durations panic", func(t *testing.T) {
		require.Panics(t, func() { admission.DefaultTolerationSeconds(-1, 300) })
	})
	require.Equal(t, "DefaultTolerationSeconds", m.(admission.Namer).Name())
}

func TestDefaultChainAddsTolerations(t *testing.T) {
	a := podAttrs(admission.Create, "default")
	require.NoError(t, admission.Default(nil).Admit(t.Context(), a))
	ts := a.Object.(*api.Pod).Spec.Tolerations
	require.Len(t, ts, 2)
	for i, key := range []string{admission.TaintNodeNotReady, admission.TaintNodeUnreachable} {
		require.Equal(t, key, ts[i].Key)
		require.Equal(t, admission.DefaultTolerationSecondsValue, *ts[i].TolerationSeconds)
	}
}
