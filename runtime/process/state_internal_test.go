package process

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteJSONSyncs: writeJSON flushes the new file to disk before
// renaming it in place and the directory after, so that after a power
// loss the file is either the old one or the whole new one, never empty.
func TestWriteJSONSyncs(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "container.json")
	var synced []string
	old := syncFile
	syncFile = func(f *os.File) error {
		_, err := os.Stat(name)
		synced = append(synced, filepath.Base(f.Name())+map[bool]string{true: " (in place)", false: ""}[err == nil])
		return f.Sync()
	}
	t.Cleanup(func() { syncFile = old })

	require.NoError(t, writeJSON(name, map[string]int{"a": 1}))
	require.Len(t, synced, 2, "files synced: %q", synced)
	assert.NotEqual(t, "container.json", synced[0], "the temporary file is synced before the rename")
	assert.NotContains(t, synced[0], "(in place)", "synced before the rename")
	assert.Equal(t, filepath.Base(dir)+" (in place)", synced[1], "the directory is synced after the rename")
	var got map[string]int
	require.NoError(t, readJSON(name, &got))
	assert.Equal(t, 1, got["a"])
}
