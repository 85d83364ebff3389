package volume

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidatePath checks that an accepted path stays inside the volume
// and cannot collide with the atomic writer's own names.
func FuzzValidatePath(f *testing.F) {
	for _, p := range []string{"a", "a/b", "..", "../a", "a/..", "/a", ".", "a/./b", "..data", "a//b", "a/", "...", ".a/b", "a\x00"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if validatePath(p) != nil {
			return
		}
		const dir = "/vol/..2026_11_21_13_45_07.1"
		full := filepath.Join(dir, p)
		if !strings.HasPrefix(full, dir+"/") {
			t.Fatalf("accepted %q escapes: %q", p, full)
		}
		if filepath.Clean(p) != p || strings.HasPrefix(p, "..") || strings.ContainsRune(p, 0) {
			t.Fatalf("accepted %q", p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == "" || el == "." || el == ".." {
				t.Fatalf("accepted %q with element %q", p, el)
			}
		}
	})
}

func TestCheckPayloadConflicts(t *testing.T) {
	ok := map[string]file{"a": {}, "a.txt": {}, "a-b/c": {}, "ab/c": {}, "b/c": {}, "b/d": {}}
	if err := checkPayload(ok); err != nil {
		t.Fatal(err)
	}
	bad := map[string]file{"a": {}, "a.txt": {}, "a-b": {}, "a/c": {}}
	if err := checkPayload(bad); err == nil || err.Error() != `file path "a" is also the directory of "a/c"` {
		t.Fatalf("got %v", err)
	}
}
