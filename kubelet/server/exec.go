package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/internal/remotecommand"
	"github.com/drover-io/drover/runtime"
)

// execRoutes adds GET and POST /exec/{namespace}/{pod}/{container}.
func (s *Server) execRoutes(route func(pattern, endpoint string, auth bool, h http.HandlerFunc)) {
	route("GET /exec/{namespace}/{pod}/{container}", "exec", true, s.serveExec)
	route("POST /exec/{namespace}/{pod}/{container}", "exec", true, s.serveExec)
}

// serveExec serves /exec/{namespace}/{pod}/{container}?command=...: the
// command runs in the pod's current container of that name through the
// runtime's Execer, its streams over a WebSocket in the Kubernetes channel
// protocol (package internal/remotecommand). Errors before the upgrade
// are v1 Status bodies: 400 for bad options or a container that is not
// running, 404 for no such pod or container, 501 for a runtime that
// cannot exec.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := remotecommand.ParseOptions(r.URL.Query())
	if err != nil {
		var se *api.StatusError
		if !errors.As(err, &se) {
			se = api.NewBadRequest("%s", err.Error())
		}
		writeStatus(w, se)
		return
	}
	if s.execer == nil {
		writeStatus(w, api.NewStatusError(http.StatusNotImplemented, api.StatusReasonUnknown,
			"the node's runtime cannot run commands in containers (it does not implement runtime.Execer)"))
		return
	}
	pod, err := s.findPod(r.Context(), ns, name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if pod == nil {
		writeStatus(w, notFound(name, fmt.Sprintf("pod %s/%s is not found on this node", ns, name)))
		return
	}
	cs := pod.named(cname)
	if len(cs) == 0 {
		writeStatus(w, notFound(name, fmt.Sprintf("container %q in pod %s/%s is not found on this node", cname, ns, name)))
		return
	}
	c := cs[len(cs)-1]
	if c.State != runtime.ContainerRunning {
		writeStatus(w, api.NewBadRequest("container %q in pod %q is not running (it is %s): a command runs in a running container only", cname, name, c.State))
		return
	}
	s.log.Info("exec", "pod", ns+"/"+name, "container", cname, "command", opts.Command)
	remotecommand.Serve(w, r, opts, func(ctx context.Context, st remotecommand.Streams) (int, error) {
		eo := runtime.ExecOptions{Stdin: st.Stdin, Stdout: st.Stdout, Stderr: st.Stderr}
		code, err := s.execer.Exec(ctx, c.ID, opts.Command, eo)
		if errors.Is(err, runtime.ErrNotRunning) {
			return code, fmt.Errorf("container %q in pod %q is not running: %w", cname, name, err)
		}
		return code, err
	})
}

// notFound is a 404 Status about pod name.
func notFound(pod, msg string) *api.StatusError {
	se := api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound, msg)
	se.Status.Details = &api.StatusDetails{Name: pod, Kind: "pods"}
	return se
}

// writeStatus answers with a v1 Status.
func writeStatus(w http.ResponseWriter, se *api.StatusError) {
	data, _ := json.Marshal(se.Status)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(se.Status.Code))
	w.Write(data)
}
