package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Status is the body of every API error response (and of a few successful
// ones, such as deletions of collections). Kubernetes clients read Reason and
// Code to decide what to do.
type Status struct {
	TypeMeta `json:",inline"`
	ListMeta `json:"metadata"`
	// Status is "Success" or "Failure".
	Status string `json:"status,omitempty"`
	// Message is a human-readable description of the error.
	Message string `json:"message,omitempty"`
	// Reason is a machine-readable classification; empty means none is
	// known, and clients fall back to Code.
	Reason StatusReason `json:"reason,omitempty"`
	// Details carries the object the error is about and per-field causes.
	Details *StatusDetails `json:"details,omitempty"`
	// Code is the HTTP status code.
	Code int32 `json:"code,omitempty"`
}

// Status values.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"
)

// StatusDetails names the object an error is about and its causes.
type StatusDetails struct {
	Name              string        `json:"name,omitempty"`
	Group             string        `json:"group,omitempty"`
	Kind              string        `json:"kind,omitempty"`
	UID               UID           `json:"uid,omitempty"`
	Causes            []StatusCause `json:"causes,omitempty"`
	RetryAfterSeconds int32         `json:"retryAfterSeconds,omitempty"`
}

// StatusCause is one cause of an error, usually one invalid field.
type StatusCause struct {
	Type    CauseType `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Field   string    `json:"field,omitempty"`
}

// CauseType classifies a StatusCause; field errors use their ErrorType.
type CauseType string

// StatusReason is the machine-readable reason of a failure.
type StatusReason string

// The reasons Drover returns, with the HTTP codes they go with.
const (
	StatusReasonUnknown               StatusReason = ""
	StatusReasonUnauthorized          StatusReason = "Unauthorized"          // 401
	StatusReasonForbidden             StatusReason = "Forbidden"             // 403
	StatusReasonNotFound              StatusReason = "NotFound"              // 404
	StatusReasonAlreadyExists         StatusReason = "AlreadyExists"         // 409
	StatusReasonConflict              StatusReason = "Conflict"              // 409
	StatusReasonGone                  StatusReason = "Gone"                  // 410
	StatusReasonExpired               StatusReason = "Expired"               // 410
	StatusReasonInvalid               StatusReason = "Invalid"               // 422
	StatusReasonBadRequest            StatusReason = "BadRequest"            // 400
	StatusReasonMethodNotAllowed      StatusReason = "MethodNotAllowed"      // 405
	StatusReasonNotAcceptable         StatusReason = "NotAcceptable"         // 406
	StatusReasonRequestEntityTooLarge StatusReason = "RequestEntityTooLarge" // 413
	StatusReasonUnsupportedMediaType  StatusReason = "UnsupportedMediaType"  // 415
	StatusReasonTooManyRequests       StatusReason = "TooManyRequests"       // 429
	StatusReasonInternalError         StatusReason = "InternalError"         // 500
	StatusReasonServiceUnavailable    StatusReason = "ServiceUnavailable"    // 503
	StatusReasonTimeout               StatusReason = "Timeout"               // 504
	StatusReasonServerTimeout         StatusReason = "ServerTimeout"         // 500
)

// StatusError is an error that carries a Status, so that it crosses the wire
// intact: the API server returns its Status as the response body, and the
// client turns the body back into a StatusError.
type StatusError struct {
	Status Status
}

// Error returns the status message.
func (e *StatusError) Error() string { return e.Status.Message }

// Is matches another *StatusError with the same Reason (or, when both have
// no reason, the same Code), so errors.Is(err, api.ErrNotFound) works.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	if !ok {
		return false
	}
	if t.Status.Reason != "" || e.Status.Reason != "" {
		return t.Status.Reason == e.Status.Reason
	}
	return t.Status.Code == e.Status.Code
}

// Sentinels for errors.Is: each matches any StatusError with its reason.
var (
	ErrNotFound           error = &StatusError{Status{Reason: StatusReasonNotFound, Code: http.StatusNotFound}}
	ErrAlreadyExists      error = &StatusError{Status{Reason: StatusReasonAlreadyExists, Code: http.StatusConflict}}
	ErrConflict           error = &StatusError{Status{Reason: StatusReasonConflict, Code: http.StatusConflict}}
	ErrInvalid            error = &StatusError{Status{Reason: StatusReasonInvalid, Code: http.StatusUnprocessableEntity}}
	ErrGone               error = &StatusError{Status{Reason: StatusReasonGone, Code: http.StatusGone}}
	ErrExpired            error = &StatusError{Status{Reason: StatusReasonExpired, Code: http.StatusGone}}
	ErrBadRequest         error = &StatusError{Status{Reason: StatusReasonBadRequest, Code: http.StatusBadRequest}}
	ErrForbidden          error = &StatusError{Status{Reason: StatusReasonForbidden, Code: http.StatusForbidden}}
	ErrUnauthorized       error = &StatusError{Status{Reason: StatusReasonUnauthorized, Code: http.StatusUnauthorized}}
	ErrTooManyRequests    error = &StatusError{Status{Reason: StatusReasonTooManyRequests, Code: http.StatusTooManyRequests}}
	ErrInternal           error = &StatusError{Status{Reason: StatusReasonInternalError, Code: http.StatusInternalServerError}}
	ErrServiceUnavailable error = &StatusError{Status{Reason: StatusReasonServiceUnavailable, Code: http.StatusServiceUnavailable}}
	ErrMethodNotAllowed   error = &StatusError{Status{Reason: StatusReasonMethodNotAllowed, Code: http.StatusMethodNotAllowed}}
)

func newStatusError(code int, reason StatusReason, details *StatusDetails, format string, args ...any) *StatusError {
	return &StatusError{Status{
		TypeMeta: TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   StatusFailure,
		Message:  fmt.Sprintf(format, args...),
		Reason:   reason,
		Details:  details,
		Code:     int32(code),
	}}
}

// NewStatusError returns a failure with the given HTTP code, reason and
// message, for the cases the constructors below do not cover.
func NewStatusError(code int, reason StatusReason, message string) *StatusError {
	return newStatusError(code, reason, nil, "%s", message)
}

// NewNotFound reports that the named object of resource gr does not exist.
func NewNotFound(gr GroupResource, name string) *StatusError {
	return newStatusError(http.StatusNotFound, StatusReasonNotFound,
		&StatusDetails{Name: name, Group: gr.Group, Kind: gr.Resource},
		"%s %q not found", gr, name)
}

// NewAlreadyExists reports a create of a name that is taken.
func NewAlreadyExists(gr GroupResource, name string) *StatusError {
	return newStatusError(http.StatusConflict, StatusReasonAlreadyExists,
		&StatusDetails{Name: name, Group: gr.Group, Kind: gr.Resource},
		"%s %q already exists", gr, name)
}

// NewConflict reports a failed compare-and-swap or precondition.
func NewConflict(gr GroupResource, name string, err error) *StatusError {
	return newStatusError(http.StatusConflict, StatusReasonConflict,
		&StatusDetails{Name: name, Group: gr.Group, Kind: gr.Resource},
		"Operation cannot be fulfilled on %s %q: %v", gr, name, err)
}

// NewInvalid reports an object that failed validation, with one cause per
// field error.
//
// At most MaxInvalidCauses errors are reported, in the causes and in the
// message, which then says how many more there were: an object built to
// have a million invalid fields must not make a response of hundreds of
// megabytes.
func NewInvalid(gk GroupKind, name string, errs ErrorList) *StatusError {
	shown := errs
	if len(shown) > MaxInvalidCauses {
		shown = shown[:MaxInvalidCauses]
	}
	causes := make([]StatusCause, len(shown))
	for i, e := range shown {
		causes[i] = StatusCause{Type: CauseType(e.Type), Message: e.ErrorBody(), Field: e.Field}
	}
	msg := shown.Error()
	if more := len(errs) - len(shown); more > 0 {
		msg = strings.TrimSuffix(msg, "]") + fmt.Sprintf(", and %d more errors]", more)
	}
	return newStatusError(http.StatusUnprocessableEntity, StatusReasonInvalid,
		&StatusDetails{Name: name, Group: gk.Group, Kind: gk.Kind, Causes: causes},
		"%s %q is invalid: %s", gk, name, msg)
}

// MaxInvalidCauses is the most field errors an Invalid Status reports.
const MaxInvalidCauses = 100

// NewBadRequest reports a malformed request.
func NewBadRequest(format string, args ...any) *StatusError {
	return newStatusError(http.StatusBadRequest, StatusReasonBadRequest, nil, format, args...)
}

// NewGone reports a watch or list from a revision that was compacted away.
func NewGone(format string, args ...any) *StatusError {
	return newStatusError(http.StatusGone, StatusReasonGone, nil, format, args...)
}

// NewResourceExpired reports an expired continue token or resource version
// (HTTP 410, reason Expired), which clients answer with a fresh list.
func NewResourceExpired(format string, args ...any) *StatusError {
	return newStatusError(http.StatusGone, StatusReasonExpired, nil, format, args...)
}

// NewForbidden reports a request the caller is not allowed to make.
func NewForbidden(gr GroupResource, name string, err error) *StatusError {
	return newStatusError(http.StatusForbidden, StatusReasonForbidden,
		&StatusDetails{Name: name, Group: gr.Group, Kind: gr.Resource},
		"%s %q is forbidden: %v", gr, name, err)
}

// NewUnauthorized reports a request without valid credentials.
func NewUnauthorized(reason string) *StatusError {
	return newStatusError(http.StatusUnauthorized, StatusReasonUnauthorized, nil, "Unauthorized: %s", reason)
}

// NewMethodNotAllowed reports a verb the resource does not support.
func NewMethodNotAllowed(gr GroupResource, verb string) *StatusError {
	return newStatusError(http.StatusMethodNotAllowed, StatusReasonMethodNotAllowed,
		&StatusDetails{Group: gr.Group, Kind: gr.Resource},
		"%s is not supported on resources of kind %q", verb, gr)
}

// NewTooManyRequests asks the client to retry after the given seconds.
func NewTooManyRequests(message string, retryAfterSeconds int) *StatusError {
	return newStatusError(http.StatusTooManyRequests, StatusReasonTooManyRequests,
		&StatusDetails{RetryAfterSeconds: int32(retryAfterSeconds)}, "%s", message)
}

// NewServiceUnavailable reports a server that cannot serve the request now.
func NewServiceUnavailable(message string) *StatusError {
	return newStatusError(http.StatusServiceUnavailable, StatusReasonServiceUnavailable, nil, "%s", message)
}

// NewInternalError wraps an unexpected server-side error.
func NewInternalError(err error) *StatusError {
	return newStatusError(http.StatusInternalServerError, StatusReasonInternalError,
		&StatusDetails{Causes: []StatusCause{{Message: err.Error()}}},
		"Internal error occurred: %v", err)
}

// ReasonForError returns the StatusReason of err, or StatusReasonUnknown if
// err does not wrap a StatusError.
func ReasonForError(err error) StatusReason {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status.Reason
	}
	return StatusReasonUnknown
}

// StatusFromError returns the Status for err: the carried one for a
// StatusError, and an InternalError status otherwise.
func StatusFromError(err error) Status {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return NewInternalError(err).Status
}

// IsNotFound reports whether err is a NotFound StatusError.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsAlreadyExists reports whether err is an AlreadyExists StatusError.
func IsAlreadyExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }

// IsConflict reports whether err is a Conflict StatusError.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsInvalid reports whether err is an Invalid StatusError.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// IsGone reports whether err is a Gone or Expired StatusError: the revision
// asked for is no longer available and the client must list again.
func IsGone(err error) bool { return errors.Is(err, ErrGone) || errors.Is(err, ErrExpired) }

// WatchEventType is the type of a watch event.
type WatchEventType string

// Watch event types, as on the wire.
const (
	WatchAdded    WatchEventType = "ADDED"
	WatchModified WatchEventType = "MODIFIED"
	WatchDeleted  WatchEventType = "DELETED"
	WatchBookmark WatchEventType = "BOOKMARK"
	WatchError    WatchEventType = "ERROR"
)

// WatchEvent is one event of a watch stream as on the wire: Object holds the
// object's JSON (a Status for ERROR, and an object with only kind,
// apiVersion and metadata.resourceVersion for BOOKMARK).
type WatchEvent struct {
	Type   WatchEventType `json:"type"`
	Object RawJSON        `json:"object"`
}

// RawJSON is an already-encoded JSON value that is copied through as is.
type RawJSON []byte

// MarshalJSON returns r, or null when r is empty.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON stores a copy of b.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
