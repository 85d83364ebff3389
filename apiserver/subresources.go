package apiserver

import (
	"fmt"
	"net/http"

	"github.com/drover-io/drover/api"
)

// serveSubresource serves a subresource other than status: each has its
// own verbs, query parameters and body.
func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, t target) {
	gr := t.kind.GroupVersionResource().GroupResource()
	setInfo(w, requestInfo{verb: r.Method, resource: gr.String() + "/" + t.subresource})
	var err error
	switch t.subresource {
	case "finalize":
		err = s.finalize(w, r, t)
	default:
		err = api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound,
			fmt.Sprintf("the subresource %q of %s is not served", t.subresource, gr))
	}
	if err != nil {
		s.writeError(w, err)
	}
}
