package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler"
)

// The scheduling endpoint: every control-plane member serves, next to the
// API server's paths,
//
//	GET /drover/v1/scheduling/namespaces/{namespace}/pods/{name}
//
// whose body is the JSON of the scheduler's last attempt at the pod
// (scheduler.Explanation: the result, and the per-node Filter verdicts and
// per-plugin scores of that attempt), as `drover explain pod` shows it.
// Only the member that runs the scheduler (the one that leads) knows the
// attempts; the others answer 503 with a Status naming the leader's Raft
// address when they know it. 404 (a Status, reason NotFound) means the
// scheduler has no attempt of the pod: it was scheduled before this
// scheduler started, or not tried yet. The attempts are kept in memory, in
// a bounded LRU (scheduler.Config), and are lost with the leader.
const (
	// SchedulingPathPrefix starts the paths of the scheduling endpoint.
	SchedulingPathPrefix = "/drover/v1/scheduling/"

	// schedulingPathTemplate is how errors spell the paths.
	schedulingPathTemplate = SchedulingPathPrefix + "namespaces/{namespace}/pods/{name}"
)

// SchedulingPath returns the path of the scheduling endpoint for the pod
// namespace/name.
func SchedulingPath(namespace, name string) string {
	return SchedulingPathPrefix + "namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(name)
}

// explainer is what the scheduling endpoint needs of the control plane.
// Its methods are called from the goroutine of the HTTP request,
// concurrently with any other request.
type explainer interface {
	// Explain returns the last attempt at the pod namespace/name, false
	// if none is known (scheduler.Scheduler.Explain).
	Explain(namespace, name string) (*scheduler.Explanation, bool)
	// Scheduling reports whether the scheduler runs on this member.
	Scheduling() bool
	// Leader returns the Raft address of the member that leads, "" if
	// none is known, and whether it is this member.
	Leader() (addr string, self bool)
}

// explainHandler serves the paths under SchedulingPathPrefix.
type explainHandler struct {
	x   explainer
	log *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *explainHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ns, name, ok := parseSchedulingPath(r.URL.Path)
	if !ok {
		writeStatus(w, api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound, fmt.Sprintf(
			"%s not found: the scheduling endpoint's paths are %s", r.URL.Path, schedulingPathTemplate)))
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeStatus(w, api.NewStatusError(http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, fmt.Sprintf(
			"method %s is not allowed on %s: use GET", r.Method, r.URL.Path)))
		return
	}
	if !h.x.Scheduling() {
		addr, self := h.x.Leader()
		var msg string
		switch {
		case self:
			msg = "this member leads but its scheduler has not started yet: ask again in a moment"
		case addr != "":
			msg = fmt.Sprintf("this member does not run the scheduler: the leader does, at Raft address %s; ask its API server", addr)
		default:
			msg = "this member does not run the scheduler and knows no leader: ask again, leadership is moving"
		}
		writeStatus(w, api.NewStatusError(http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, msg))
		return
	}
	e, ok := h.x.Explain(ns, name)
	if !ok {
		writeStatus(w, api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound, fmt.Sprintf(
			"no scheduling attempt of pod %s/%s is known: it was scheduled before this scheduler started, or not yet tried", ns, name)))
		return
	}
	data, err := json.Marshal(e)
	if err != nil {
		h.log.Error("encode a scheduling explanation", "pod", ns+"/"+name, "err", err)
		writeStatus(w, api.NewStatusError(http.StatusInternalServerError, api.StatusReasonInternalError, fmt.Sprintf(
			"encode the scheduling attempt of pod %s/%s: %v", ns, name, err)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

// parseSchedulingPath splits a path of SchedulingPath into the namespace
// and the name.
func parseSchedulingPath(p string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(p, SchedulingPathPrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[0] != "namespaces" || parts[2] != "pods" || parts[1] == "" || parts[3] == "" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

// writeStatus writes se as the JSON Status body of its code.
func writeStatus(w http.ResponseWriter, se *api.StatusError) {
	data, _ := json.Marshal(&se.Status) // a Status always marshals
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(se.Status.Code))
	_, _ = w.Write(data)
}

// droverRoutes routes the paths under /drover/: those under
// SchedulingPathPrefix to sched, the others to snap (which answers 404 to
// all but SnapshotPath).
func droverRoutes(snap, sched http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == SnapshotPath:
			snap.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, SchedulingPathPrefix):
			sched.ServeHTTP(w, r)
		default:
			snap.ServeHTTP(w, r) // which answers 404
		}
	})
}

// cpExplainer is the explainer of a started ControlPlane.
type cpExplainer struct{ cp *ControlPlane }

// Explain implements explainer.
func (x cpExplainer) Explain(namespace, name string) (*scheduler.Explanation, bool) {
	return x.cp.sched.Explain(namespace, name)
}

// Scheduling implements explainer.
func (x cpExplainer) Scheduling() bool { return x.cp.Leading() }

// Leader implements explainer.
func (x cpExplainer) Leader() (string, bool) {
	_, addr := x.cp.st.Leader()
	return addr, x.cp.st.IsLeader()
}
