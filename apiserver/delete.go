package apiserver

import (
	"net/http"

	"github.com/drover-io/drover/api"
)

// finalize serves PUT .../namespaces/<name>/finalize.
func (s *Server) finalize(w http.ResponseWriter, r *http.Request, t target) error {
	return api.NewStatusError(http.StatusNotFound, api.StatusReasonNotFound, "namespace finalize is not served yet")
}
