package api

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/internal/names"
)

// This file holds the rules of the workload kinds: Deployment, ReplicaSet,
// DaemonSet and Job.

// validateSelectorAndTemplate checks a workload's selector, which is
// required, may not be empty, and must match the labels of its pod
// template, and the template itself. kind names the workload in messages.
func validateSelectorAndTemplate(sel *LabelSelector, t *PodTemplateSpec, kind string, sp *Path) ErrorList {
	var errs ErrorList
	selPath := sp.Child("selector")
	if sel == nil {
		errs = append(errs, Required(selPath, ""))
	} else if selErrs := ValidateLabelSelector(sel, selPath); len(selErrs) > 0 {
		errs = append(errs, selErrs...)
	} else if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, Invalid(selPath, sel, "empty selector is invalid for "+kind))
	} else {
		errs = append(errs, validateSelectorMatches(sel, t, sp)...)
	}
	return append(errs, ValidatePodTemplateSpec(t, sp.Child("template"))...)
}

// validateSelectorMatches checks that a valid selector matches the labels of
// the pod template.
func validateSelectorMatches(sel *LabelSelector, t *PodTemplateSpec, sp *Path) ErrorList {
	s, err := LabelSelectorAsSelector(sel)
	if err != nil {
		return ErrorList{Invalid(sp.Child("selector"), sel, err.Error())}
	}
	if !s.Matches(labels.Set(t.Labels)) {
		return ErrorList{Invalid(sp.Child("template", "metadata", "labels"), t.Labels, "`selector` does not match template `labels`")}
	}
	return nil
}

// validateAlwaysRestart checks the pod template of a workload whose pods run
// for ever: restartPolicy Always (or unset, which defaults to Always) and no
// activeDeadlineSeconds.
func validateAlwaysRestart(spec *PodSpec, kind string, p *Path) ErrorList {
	var errs ErrorList
	switch spec.RestartPolicy {
	case "", RestartPolicyAlways:
	case RestartPolicyOnFailure, RestartPolicyNever:
		errs = append(errs, NotSupported(p.Child("restartPolicy"), spec.RestartPolicy, []RestartPolicy{RestartPolicyAlways}))
	default:
		// Already reported by ValidatePodSpec.
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, Forbidden(p.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

// intOrPercent returns the value of an integer or a percentage ("25%"),
// whether it is a percentage, and whether it parses.
func intOrPercent(v IntOrString) (n int, percent, ok bool) {
	if v.Type == IntOrStringInt {
		return int(v.IntVal), false, true
	}
	if len(names.IsPercent(v.StrVal)) > 0 {
		return 0, true, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	return n, true, err == nil
}

// intOrStringValue returns what to show of v in an error.
func intOrStringValue(v IntOrString) any {
	if v.Type == IntOrStringInt {
		return v.IntVal
	}
	return v.StrVal
}

// validateIntOrPercent checks a rollout bound: an integer that is not
// negative or a percentage such as "25%", of at most 100% if capped. A nil
// value is unset.
func validateIntOrPercent(v *IntOrString, capped bool, p *Path) ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == IntOrStringString {
		var errs ErrorList
		for _, msg := range names.IsPercent(v.StrVal) {
			errs = append(errs, Invalid(p, v.StrVal, msg))
		}
		if n, _, ok := intOrPercent(*v); ok && capped && n > 100 {
			errs = append(errs, Invalid(p, v.StrVal, "must not be greater than 100%"))
		}
		return errs
	}
	return validateNonNegative(v.IntVal, p)
}

// isZero reports whether a rollout bound is 0 (or 0%), taking dflt for nil.
func isZero(v *IntOrString, dflt int) bool {
	if v == nil {
		return dflt == 0
	}
	n, _, ok := intOrPercent(*v)
	return ok && n == 0
}

// ---------------------------------------------------------------------------
// Deployment

func validateDeployment(d *Deployment) ErrorList {
	errs := validateBuiltinMeta(d)
	spec, sp := &d.Spec, NewPath("spec")
	if r := spec.Replicas; r != nil {
		errs = append(errs, validateNonNegative(*r, sp.Child("replicas"))...)
	}
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, "deployment", sp)...)
	errs = append(errs, validateAlwaysRestart(&spec.Template.Spec, "Deployment", sp.Child("template", "spec"))...)
	stp := sp.Child("strategy")
	switch st := &spec.Strategy; st.Type {
	case "", RollingUpdateDeploymentStrategyType:
		if ru := st.RollingUpdate; ru != nil {
			rp := stp.Child("rollingUpdate")
			errs = append(errs, validateIntOrPercent(ru.MaxUnavailable, true, rp.Child("maxUnavailable"))...)
			errs = append(errs, validateIntOrPercent(ru.MaxSurge, false, rp.Child("maxSurge"))...)
			// Both default to 25%.
			if isZero(ru.MaxUnavailable, 25) && isZero(ru.MaxSurge, 25) {
				errs = append(errs, Invalid(rp.Child("maxUnavailable"), intOrStringValue(*ru.MaxUnavailable),
					"may not be 0 when `maxSurge` is 0"))
			}
		}
	case RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			errs = append(errs, Forbidden(stp.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	default:
		errs = append(errs, NotSupported(stp.Child("type"), st.Type,
			[]DeploymentStrategyType{RecreateDeploymentStrategyType, RollingUpdateDeploymentStrategyType}))
	}
	errs = append(errs, validateNonNegative(spec.MinReadySeconds, sp.Child("minReadySeconds"))...)
	if r := spec.RevisionHistoryLimit; r != nil {
		errs = append(errs, validateNonNegative(*r, sp.Child("revisionHistoryLimit"))...)
	}
	if pd := spec.ProgressDeadlineSeconds; pd != nil {
		if *pd < 0 {
			errs = append(errs, Invalid(sp.Child("progressDeadlineSeconds"), *pd, nonNegativeMsg))
		} else if *pd <= spec.MinReadySeconds {
			errs = append(errs, Invalid(sp.Child("progressDeadlineSeconds"), *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateAtMost checks that no count exceeds the total status.<total>,
// unless the total is negative, which is reported already.
func validateAtMost(p *Path, total string, max int32, counts map[string]int32) ErrorList {
	if max < 0 {
		return nil
	}
	var errs ErrorList
	for _, name := range sortedKeys(counts) {
		if n := counts[name]; n > max {
			errs = append(errs, Invalid(p.Child(name), n, "cannot be greater than status."+total))
		}
	}
	return errs
}

// validateAvailableAtMostReady checks that no more replicas are available
// than ready.
func validateAvailableAtMostReady(available, ready int32, p *Path) ErrorList {
	if ready >= 0 && available > ready {
		return ErrorList{Invalid(p.Child("availableReplicas"), available, "cannot be greater than readyReplicas")}
	}
	return nil
}

func validateDeploymentStatus(st, old *DeploymentStatus, p *Path) ErrorList {
	errs := validateNonNegative(st.ObservedGeneration, p.Child("observedGeneration"))
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"replicas", st.Replicas}, {"updatedReplicas", st.UpdatedReplicas}, {"readyReplicas", st.ReadyReplicas},
		{"availableReplicas", st.AvailableReplicas}, {"unavailableReplicas", st.UnavailableReplicas},
	} {
		errs = append(errs, validateNonNegative(f.value, p.Child(f.name))...)
	}
	errs = append(errs, validateAtMost(p, "replicas", st.Replicas, map[string]int32{
		"updatedReplicas": st.UpdatedReplicas, "readyReplicas": st.ReadyReplicas, "availableReplicas": st.AvailableReplicas,
	})...)
	errs = append(errs, validateAvailableAtMostReady(st.AvailableReplicas, st.ReadyReplicas, p)...)
	errs = append(errs, validateCollisionCount(st.CollisionCount, old.CollisionCount, p.Child("collisionCount"))...)
	for i, c := range st.Conditions {
		errs = append(errs, validateConditionStatus(c.Status, p.Child("conditions").Index(i).Child("status"))...)
	}
	return errs
}

// validateCollisionCount checks that a collision count is not negative and
// does not go down.
func validateCollisionCount(n, old *int32, p *Path) ErrorList {
	if n == nil {
		if old != nil {
			return ErrorList{Invalid(p, int32(0), "cannot be decremented")}
		}
		return nil
	}
	errs := validateNonNegative(*n, p)
	if old != nil && *n < *old {
		errs = append(errs, Invalid(p, *n, "cannot be decremented"))
	}
	return errs
}

// ---------------------------------------------------------------------------
// ReplicaSet

func validateReplicaSet(rs *ReplicaSet) ErrorList {
	errs := validateBuiltinMeta(rs)
	spec, sp := &rs.Spec, NewPath("spec")
	if r := spec.Replicas; r != nil {
		errs = append(errs, validateNonNegative(*r, sp.Child("replicas"))...)
	}
	errs = append(errs, validateNonNegative(spec.MinReadySeconds, sp.Child("minReadySeconds"))...)
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, "replicaset", sp)...)
	return append(errs, validateAlwaysRestart(&spec.Template.Spec, "ReplicaSet", sp.Child("template", "spec"))...)
}

func validateReplicaSetStatus(st *ReplicaSetStatus, p *Path) ErrorList {
	errs := validateNonNegative(st.ObservedGeneration, p.Child("observedGeneration"))
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"replicas", st.Replicas}, {"fullyLabeledReplicas", st.FullyLabeledReplicas},
		{"readyReplicas", st.ReadyReplicas}, {"availableReplicas", st.AvailableReplicas},
	} {
		errs = append(errs, validateNonNegative(f.value, p.Child(f.name))...)
	}
	errs = append(errs, validateAtMost(p, "replicas", st.Replicas, map[string]int32{
		"fullyLabeledReplicas": st.FullyLabeledReplicas, "readyReplicas": st.ReadyReplicas, "availableReplicas": st.AvailableReplicas,
	})...)
	errs = append(errs, validateAvailableAtMostReady(st.AvailableReplicas, st.ReadyReplicas, p)...)
	for i, c := range st.Conditions {
		errs = append(errs, validateConditionStatus(c.Status, p.Child("conditions").Index(i).Child("status"))...)
	}
	return errs
}

// ---------------------------------------------------------------------------
// DaemonSet

func validateDaemonSet(ds *DaemonSet) ErrorList {
	errs := validateBuiltinMeta(ds)
	spec, sp := &ds.Spec, NewPath("spec")
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, "daemonset", sp)...)
	errs = append(errs, validateAlwaysRestart(&spec.Template.Spec, "DaemonSet", sp.Child("template", "spec"))...)
	errs = append(errs, validateNonNegative(spec.MinReadySeconds, sp.Child("minReadySeconds"))...)
	if r := spec.RevisionHistoryLimit; r != nil {
		errs = append(errs, validateNonNegative(*r, sp.Child("revisionHistoryLimit"))...)
	}
	up := sp.Child("updateStrategy")
	switch st := &spec.UpdateStrategy; st.Type {
	case "", RollingUpdateDaemonSetStrategyType:
		if ru := st.RollingUpdate; ru != nil {
			rp := up.Child("rollingUpdate")
			errs = append(errs, validateIntOrPercent(ru.MaxUnavailable, true, rp.Child("maxUnavailable"))...)
			errs = append(errs, validateIntOrPercent(ru.MaxSurge, true, rp.Child("maxSurge"))...)
			// maxUnavailable defaults to 1, maxSurge to 0; exactly one
			// must be non-zero.
			unavailable, surge := !isZero(ru.MaxUnavailable, 1), !isZero(ru.MaxSurge, 0)
			switch {
			case unavailable && surge:
				errs = append(errs, Invalid(rp.Child("maxSurge"), intOrStringValue(*ru.MaxSurge), "may not be set when maxUnavailable is non-zero"))
			case !unavailable && !surge:
				errs = append(errs, Invalid(rp.Child("maxUnavailable"), intOrStringValue(*ru.MaxUnavailable), "cannot be 0 when maxSurge is 0"))
			}
		}
	case OnDeleteDaemonSetStrategyType:
	default:
		errs = append(errs, NotSupported(up.Child("type"), st.Type,
			[]DaemonSetUpdateStrategyType{RollingUpdateDaemonSetStrategyType, OnDeleteDaemonSetStrategyType}))
	}
	return errs
}

func validateDaemonSetStatus(st, old *DaemonSetStatus, p *Path) ErrorList {
	errs := validateNonNegative(st.ObservedGeneration, p.Child("observedGeneration"))
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"currentNumberScheduled", st.CurrentNumberScheduled}, {"numberMisscheduled", st.NumberMisscheduled},
		{"desiredNumberScheduled", st.DesiredNumberScheduled}, {"numberReady", st.NumberReady},
		{"updatedNumberScheduled", st.UpdatedNumberScheduled}, {"numberAvailable", st.NumberAvailable},
		{"numberUnavailable", st.NumberUnavailable},
	} {
		errs = append(errs, validateNonNegative(f.value, p.Child(f.name))...)
	}
	errs = append(errs, validateCollisionCount(st.CollisionCount, old.CollisionCount, p.Child("collisionCount"))...)
	for i, c := range st.Conditions {
		errs = append(errs, validateConditionStatus(c.Status, p.Child("conditions").Index(i).Child("status"))...)
	}
	return errs
}

// ---------------------------------------------------------------------------
// Job

// maxParallelismForIndexedJob bounds the parallelism of Indexed Jobs.
const maxParallelismForIndexedJob = 100000

func validateJob(j *Job) ErrorList {
	errs := validateBuiltinMeta(j)
	spec, sp := &j.Spec, NewPath("spec")
	for _, f := range []struct {
		name  string
		value *int32
	}{
		{"parallelism", spec.Parallelism}, {"completions", spec.Completions},
		{"backoffLimit", spec.BackoffLimit}, {"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished},
	} {
		if f.value != nil {
			errs = append(errs, validateNonNegative(*f.value, sp.Child(f.name))...)
		}
	}
	if d := spec.ActiveDeadlineSeconds; d != nil {
		errs = append(errs, validateNonNegative(*d, sp.Child("activeDeadlineSeconds"))...)
	}
	if m := spec.CompletionMode; m != nil {
		switch *m {
		case NonIndexedCompletion:
		case IndexedCompletion:
			if spec.Completions == nil {
				errs = append(errs, Required(sp.Child("completions"), fmt.Sprintf("when completion mode is %s", IndexedCompletion)))
			}
			if p := spec.Parallelism; p != nil && *p > maxParallelismForIndexedJob {
				errs = append(errs, Invalid(sp.Child("parallelism"), *p, fmt.Sprintf(
					"must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, IndexedCompletion)))
			}
		default:
			errs = append(errs, NotSupported(sp.Child("completionMode"), *m, []CompletionMode{NonIndexedCompletion, IndexedCompletion}))
		}
	}
	// The API server generates the selector of a Job without
	// manualSelector; one given must be valid and match the template.
	selPath := sp.Child("selector")
	switch {
	case spec.Selector != nil:
		if selErrs := ValidateLabelSelector(spec.Selector, selPath); len(selErrs) > 0 {
			errs = append(errs, selErrs...)
		} else {
			errs = append(errs, validateSelectorMatches(spec.Selector, &spec.Template, sp)...)
		}
	case spec.ManualSelector != nil && *spec.ManualSelector:
		errs = append(errs, Required(selPath, "when `manualSelector` is true"))
	}
	errs = append(errs, ValidatePodTemplateSpec(&spec.Template, sp.Child("template"))...)
	rp := sp.Child("template", "spec", "restartPolicy")
	switch rpol := spec.Template.Spec.RestartPolicy; rpol {
	case RestartPolicyOnFailure, RestartPolicyNever:
	case "", RestartPolicyAlways:
		// Defaulting turns an unset policy into Always, which a Job
		// cannot use: say what can be.
		errs = append(errs, Required(rp, fmt.Sprintf("valid values: %q, %q", RestartPolicyOnFailure, RestartPolicyNever)))
	default:
		// Already reported by ValidatePodSpec.
	}
	return errs
}

// validateJobUpdate checks the changes to a Job: the selector, the
// completion mode and the pod template are immutable, and so are the
// completions of a NonIndexed Job; an Indexed Job may change completions
// together with parallelism. While a Job is suspended and has not started,
// its template's node selector, tolerations, node affinity, labels and
// annotations may change.
func validateJobUpdate(j, old *Job) ErrorList {
	sp := NewPath("spec")
	spec, oldSpec := &j.Spec, &old.Spec
	errs := validateImmutable(spec.Selector, oldSpec.Selector, sp.Child("selector"))
	errs = append(errs, validateImmutable(spec.CompletionMode, oldSpec.CompletionMode, sp.Child("completionMode"))...)
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == IndexedCompletion
	if !semanticEqual(spec.Completions, oldSpec.Completions) {
		switch {
		case !indexed:
			errs = append(errs, Invalid(sp.Child("completions"), badValue(spec.Completions), immutableMsg))
		case spec.Completions == nil:
			// Reported by validateJob.
		case spec.Parallelism == nil || *spec.Completions != *spec.Parallelism:
			errs = append(errs, Invalid(sp.Child("completions"), *spec.Completions, "can only be modified in tandem with spec.parallelism"))
		}
	}
	oldTemplate := oldSpec.Template
	if oldSpec.Suspend != nil && *oldSpec.Suspend && old.Status.StartTime == nil {
		// A shallow copy of old's template with the mutable fields of the
		// new one.
		t := &spec.Template
		oldTemplate.Labels = t.Labels
		oldTemplate.Annotations = t.Annotations
		oldTemplate.Spec.NodeSelector = t.Spec.NodeSelector
		oldTemplate.Spec.Tolerations = t.Spec.Tolerations
		switch a, oa := t.Spec.Affinity, oldTemplate.Spec.Affinity; {
		case a != nil && oa != nil:
			merged := *oa
			merged.NodeAffinity = a.NodeAffinity
			oldTemplate.Spec.Affinity = &merged
		case a != nil:
			oldTemplate.Spec.Affinity = &Affinity{NodeAffinity: a.NodeAffinity}
		case oa != nil && oa.PodAffinity == nil && oa.PodAntiAffinity == nil:
			oldTemplate.Spec.Affinity = nil
		}
	}
	if !semanticEqual(spec.Template, oldTemplate) {
		var changed []string
		changedFields(sp.Child("template"), reflect.ValueOf(spec.Template), reflect.ValueOf(oldTemplate), 3, &changed)
		errs = append(errs, Invalid(sp.Child("template"), spec.Template, immutableMsg+"; changed: "+strings.Join(changed, ", ")))
	}
	return errs
}

func validateJobStatus(st *JobStatus, p *Path) ErrorList {
	var errs ErrorList
	for _, f := range []struct {
		name  string
		value int32
	}{{"active", st.Active}, {"succeeded", st.Succeeded}, {"failed", st.Failed}} {
		errs = append(errs, validateNonNegative(f.value, p.Child(f.name))...)
	}
	if r := st.Ready; r != nil {
		errs = append(errs, validateNonNegative(*r, p.Child("ready"))...)
	}
	for i, c := range st.Conditions {
		errs = append(errs, validateConditionStatus(c.Status, p.Child("conditions").Index(i).Child("status"))...)
	}
	return errs
}
