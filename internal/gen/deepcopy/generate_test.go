package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGeneratedFilesAreUpToDate regenerates the checked-in files in memory
// and fails when they differ: someone changed a type and did not run the
// generator.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	for _, tc := range []struct {
		cfg config
		fix string
	}{
		{config{Dir: "../../../api", Out: "zz_deepcopy.go", Roots: splitList(defaultRoots)}, "go generate ./api"},
		{config{Dir: "internal/sample", Out: "zz_deepcopy.go", Roots: []string{"Shapes", "Tree", "Nested"}}, "go generate ./internal/gen/deepcopy/internal/sample"},
	} {
		t.Run(tc.cfg.Dir, func(t *testing.T) {
			want, err := generate(tc.cfg)
			require.NoError(t, err)
			path := filepath.Join(tc.cfg.Dir, tc.cfg.Out)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is stale: run `%s` (from the module root) and commit the result", path, tc.fix)
			}
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := config{Dir: "../../../api", Out: "zz_deepcopy.go", Roots: splitList(defaultRoots)}
	first, err := generate(cfg)
	require.NoError(t, err)
	for range 5 {
		again, err := generate(cfg)
		require.NoError(t, err)
		require.Equal(t, string(first), string(again))
	}
	assert.True(t, bytes.HasPrefix(first, []byte(header)))
}

// writePackage writes a one-file package to a temporary directory.
func writePackage(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "types.go"), []byte(src), 0o644))
	return dir
}

func TestGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		roots     []string
		want      string
	}{
		{
			name: "interface field",
			src:  "package p\ntype T struct{ Meta map[string]any }\n",
			want: "T.Meta: cannot deep-copy any, which is an interface",
		},
		{
			name: "func field",
			src:  "package p\ntype T struct{ F func() }\n",
			want: "T.F: cannot deep-copy func(), which is a func",
		},
		{
			name: "named interface through a pointer",
			src:  "package p\ntype I interface{ M() }\ntype T struct{ P *I }\n",
			want: "T.P: cannot deep-copy I",
		},
		{
			name:  "unknown root",
			src:   "package p\ntype T struct{}\n",
			roots: []string{"Missing"},
			want:  "root type Missing",
		},
		{
			name: "unknown type",
			src:  "package p\ntype T struct{ X Undeclared }\n",
			want: "unknown type Undeclared",
		},
		{
			name: "syntax error",
			src:  "package p\ntype T struct{\n",
			want: "parse",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roots := tc.roots
			if roots == nil {
				roots = []string{"T"}
			}
			_, err := generate(config{Dir: writePackage(t, tc.src), Out: "zz_deepcopy.go", Roots: roots})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestGenerateSkipsHandWrittenMethodsAndItsOwnOutput(t *testing.T) {
	dir := writePackage(t, `package p

type T struct{ S []string; U U }

type U struct{ M map[string]int }

func (in *U) DeepCopy() *U { return nil }
`)
	// A stale, broken output must not get in the way.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz_deepcopy.go"), []byte(header+"\npackage p\n\nfunc (in *T) DeepCopy() *T { broken }\n"), 0o644))
	out, err := generate(config{Dir: dir, Out: "zz_deepcopy.go", Roots: []string{"T"}})
	require.NoError(t, err)
	src := string(out)
	assert.Contains(t, src, "func (in *T) DeepCopy() *T")
	assert.Contains(t, src, "func (in *U) DeepCopyInto(out *U)")
	assert.NotContains(t, src, "func (in *U) DeepCopy() *U", "U.DeepCopy is hand-written")
	assert.Contains(t, src, "out.S = slices.Clone(in.S)")
	assert.Contains(t, src, "in.U.DeepCopyInto(&out.U)")
	assert.Equal(t, 1, strings.Count(src, header))
}

func TestRunWritesOnlyWhenChanged(t *testing.T) {
	dir := writePackage(t, "package p\n\ntype T struct{ S []string }\n")
	cfg := config{Dir: dir, Out: "zz_deepcopy.go", Roots: []string{"T"}}
	require.NoError(t, run(cfg))
	path := filepath.Join(dir, cfg.Out)
	st, err := os.Stat(path)
	require.NoError(t, err)
	old := st.ModTime().Add(-1e9)
	require.NoError(t, os.Chtimes(path, old, old))
	require.NoError(t, run(cfg))
	st, err = os.Stat(path)
	require.NoError(t, err)
	assert.True(t, st.ModTime().Equal(old), "an up-to-date file was rewritten")
}
