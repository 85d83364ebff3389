package admission_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
)

// A lookup that fails with a Status (the store is unavailable: 503, a
// timeout: 504) keeps its code: retriable failures must not become 500s.
func TestNamespaceLifecycleKeepsLookupStatus(t *testing.T) {
	lookup := func(context.Context, string) (*api.Namespace, error) {
		return nil, api.NewServiceUnavailable("store: unavailable")
	}
	err := admission.NamespaceLifecycle(lookup).Validate(context.Background(), podAttrs(admission.Create, "default"))
	require.Equal(t, int32(http.StatusServiceUnavailable), statusOf(t, err).Code)
}
