package api

// This file holds the batch/v1 kinds: Job.

// Job runs pods until a number of them complete successfully.
type Job struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       JobSpec   `json:"spec,omitzero"`
	Status     JobStatus `json:"status,omitzero"`
}

// JobList is a list of Jobs.
type JobList = List[Job]

// JobSpec is the desired state of a Job.
type JobSpec struct {
	// Parallelism is the most pods running at once. Nil means 1; 0 pauses
	// the Job.
	Parallelism *int32 `json:"parallelism,omitempty"`
	// Completions is how many pods must succeed. Nil means any one
	// success completes the Job once all pods have ended (work-queue
	// style).
	Completions *int32 `json:"completions,omitempty"`
	// ActiveDeadlineSeconds bounds how long the Job may be active, counted
	// from its start; then its pods are killed and it fails with reason
	// DeadlineExceeded. Nil means no limit.
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	// BackoffLimit is how many pod failures are retried before the Job
	// fails. Nil means 6.
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
	// Selector picks the Job's pods. Normally generated from the Job's
	// UID; set it only with ManualSelector.
	Selector *LabelSelector `json:"selector,omitempty"`
	// ManualSelector lets the user set Selector instead of having it
	// generated. Default false.
	ManualSelector *bool `json:"manualSelector,omitempty"`
	// Template is the pod to run; its RestartPolicy must be Never or
	// OnFailure.
	Template PodTemplateSpec `json:"template"`
	// TTLSecondsAfterFinished deletes the Job this long after it
	// finishes. Nil means never.
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
	// CompletionMode defaults to NonIndexed.
	CompletionMode *CompletionMode `json:"completionMode,omitempty"`
	// Suspend stops the Job creating pods and deletes its running ones;
	// unsuspending resumes. Default false.
	Suspend *bool `json:"suspend,omitempty"`
}

// CompletionMode says how a Job's completions are counted.
type CompletionMode string

// The completion modes.
const (
	// NonIndexedCompletion: the Job completes after Completions successful
	// pods, which are interchangeable.
	NonIndexedCompletion CompletionMode = "NonIndexed"
	// IndexedCompletion: each pod gets an index from 0 to Completions-1
	// (annotation batch.kubernetes.io/job-completion-index), and the Job
	// completes when every index has succeeded.
	IndexedCompletion CompletionMode = "Indexed"
)

// JobStatus is the observed state of a Job.
type JobStatus struct {
	Conditions []JobCondition `json:"conditions,omitempty"`
	// StartTime is when the Job controller started the Job (or last
	// resumed it).
	StartTime *Time `json:"startTime,omitempty"`
	// CompletionTime is when the Job completed; only set on success.
	CompletionTime *Time `json:"completionTime,omitempty"`
	// Active counts pending and running pods.
	Active int32 `json:"active,omitempty"`
	// Succeeded counts pods that succeeded.
	Succeeded int32 `json:"succeeded,omitempty"`
	// Failed counts pods that failed.
	Failed int32 `json:"failed,omitempty"`
	// CompletedIndexes lists the succeeded indexes of an Indexed Job as
	// ranges, such as "1,3-5,7".
	CompletedIndexes string `json:"completedIndexes,omitempty"`
	// Ready counts active pods with the Ready condition.
	Ready *int32 `json:"ready,omitempty"`
}

// JobConditionType is the type of a JobCondition.
type JobConditionType string

// The job condition types.
const (
	// JobComplete is True when the Job has succeeded.
	JobComplete JobConditionType = "Complete"
	// JobFailed is True when the Job has failed for good.
	JobFailed JobConditionType = "Failed"
	// JobSuspended is True while the Job is suspended.
	JobSuspended JobConditionType = "Suspended"
)

// JobCondition is one observation about a Job.
type JobCondition struct {
	Type   JobConditionType `json:"type"`
	Status ConditionStatus  `json:"status"`
	// LastProbeTime is when the condition was last checked.
	LastProbeTime Time `json:"lastProbeTime,omitzero"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime Time   `json:"lastTransitionTime,omitzero"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}
