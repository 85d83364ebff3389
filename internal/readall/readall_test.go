package readall

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSized checks that Sized reads the whole body whatever its declared
// length: right, too short, too long, unknown or above the bound.
func TestSized(t *testing.T) {
	body := strings.Repeat("x", 3000)
	for _, n := range []int64{3000, 10, 100000, -1, 0, 5000} {
		got, err := Sized(strings.NewReader(body), n, 4096)
		require.NoError(t, err, "declared %d", n)
		assert.Equal(t, body, string(got), "declared %d", n)
	}
}

// TestSizedAllocatesOnce checks that a body of its declared length is
// read into one buffer, where io.ReadAll grows its own several times.
func TestSizedAllocatesOnce(t *testing.T) {
	body := strings.Repeat("x", 3000)
	sized := testing.AllocsPerRun(100, func() {
		_, _ = Sized(strings.NewReader(body), 3000, 4096)
	})
	grown := testing.AllocsPerRun(100, func() {
		_, _ = io.ReadAll(strings.NewReader(body))
	})
	// The race detector's instrumentation allocates too, so the two are
	// compared rather than counted.
	assert.Less(t, sized, grown, "Sized allocated as often as io.ReadAll")
}
