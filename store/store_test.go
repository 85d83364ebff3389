package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/store"
)

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a", "/registry/pods/default/web-0", "/ключ/🔑 with space", strings.Repeat("k", store.MaxKeySize)} {
		require.NoError(t, store.ValidateKey(key), "%q", key)
	}
	for key, why := range map[string]string{
		"":                                      "must not be empty",
		"/a\x00b":                               "must not contain a NUL byte",
		"/a\xffb":                               "must be valid UTF-8",
		strings.Repeat("k", store.MaxKeySize+1): "(1025 bytes, starting \"kkkk",
	} {
		err := store.ValidateKey(key)
		require.ErrorIs(t, err, store.ErrInvalidKey)
		require.ErrorContains(t, err, why)
		require.Less(t, len(err.Error()), 200, "the message does not repeat a long key")
	}
}

func TestValidateValue(t *testing.T) {
	require.NoError(t, store.ValidateValue(nil))
	require.NoError(t, store.ValidateValue(make([]byte, store.MaxValueSize)))
	err := store.ValidateValue(make([]byte, store.MaxValueSize+1))
	require.ErrorIs(t, err, store.ErrValueTooLarge)
	require.EqualError(t, err, "store: value too large: 1572865 bytes, the limit is 1572864")
}

func TestConflictError(t *testing.T) {
	var err error = &store.ConflictError{Op: "update", Key: "/a", Expected: 3, Actual: 7}
	wrapped := fmt.Errorf("apply pod: %w", err)
	require.ErrorIs(t, wrapped, store.ErrConflict)
	require.False(t, errors.Is(wrapped, store.ErrNotFound))
	var ce *store.ConflictError
	require.ErrorAs(t, wrapped, &ce)
	require.Equal(t, int64(7), ce.Actual)
	require.EqualError(t, err, `store: update "/a": store: conflict: expected revision 3, key is at revision 7`)
}

func TestEventTypeString(t *testing.T) {
	require.Equal(t, "ADDED", store.EventAdded.String())
	require.Equal(t, "MODIFIED", store.EventModified.String())
	require.Equal(t, "DELETED", store.EventDeleted.String())
	require.Equal(t, "PROGRESS", store.EventProgress.String())
	require.Equal(t, "ERROR", store.EventError.String())
	require.Equal(t, "EventType(0)", store.EventType(0).String())
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrCompacted,
		store.ErrFutureRevision, store.ErrUnavailable, store.ErrClosed, store.ErrInvalidKey, store.ErrValueTooLarge}
	for i, a := range all {
		require.True(t, strings.HasPrefix(a.Error(), "store: "), "%v", a)
		for j, b := range all {
			require.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}
