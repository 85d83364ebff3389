package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/drover-io/drover/store"
)

func testEmpty(t *testing.T, h *harness) {
	s := h.store(t)
	if rev := mustRevision(t, s); rev != 0 {
		t.Fatalf("Revision of a new store = %d, want 0", rev)
	}
	_, err := s.Get(ctx(t), "/a", store.ReadOptions{})
	wantErr(t, "Get on an empty store", err, store.ErrNotFound)
	res := mustList(t, s, "", store.ListOptions{})
	if len(res.KVs) != 0 || res.More || res.Revision != 0 {
		t.Fatalf("List on an empty store = %d keys, more %v, revision %d; want none at 0", len(res.KVs), res.More, res.Revision)
	}
}

func testCreateGet(t *testing.T, h *harness) {
	s := h.store(t)
	rev := mustCreate(t, s, "/a", "one")
	if rev != 1 {
		t.Fatalf("first Create returned revision %d, want 1", rev)
	}
	wantKV(t, "Get", mustGet(t, s, "/a", 0), "/a", "one", 1, 1)
	_, err := s.Get(ctx(t), "/b", store.ReadOptions{})
	wantErr(t, "Get of a missing key", err, store.ErrNotFound)
	_, err = s.Get(ctx(t), "/a", store.ReadOptions{Stale: true})
	if err != nil {
		t.Fatalf("Get with Stale: %v", err)
	}
}

func testCreateCopiesValue(t *testing.T, h *harness) {
	s := h.store(t)
	buf := []byte("original")
	if _, err := s.Create(ctx(t), "/a", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "CHANGED!")
	wantKV(t, "Get after the caller reused its buffer", mustGet(t, s, "/a", 0), "/a", "original", 1, 1)
	buf = []byte("second")
	if _, err := s.Update(ctx(t), "/a", buf, 0); err != nil {
		t.Fatal(err)
	}
	copy(buf, "SECOND")
	wantKV(t, "Get after the caller reused its buffer", mustGet(t, s, "/a", 0), "/a", "second", 1, 2)
}

func testEmptyValue(t *testing.T, h *harness) {
	s := h.store(t)
	if _, err := s.Create(ctx(t), "/nil", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx(t), "/empty", []byte{}); err != nil {
		t.Fatal(err)
	}
	wantKV(t, "Get of a key created with nil", mustGet(t, s, "/nil", 0), "/nil", "", 1, 1)
	wantKV(t, "Get of a key created empty", mustGet(t, s, "/empty", 0), "/empty", "", 2, 2)
	res := mustList(t, s, "/", store.ListOptions{})
	for _, kv := range res.KVs {
		if kv.Value == nil {
			t.Fatalf("List returned %q with a nil Value, want empty", kv.Key)
		}
	}
}

func testCreateExisting(t *testing.T, h *harness) {
	s := h.store(t)
	mustCreate(t, s, "/a", "one")
	_, err := s.Create(ctx(t), "/a", []byte("two"))
	wantErr(t, "second Create", err, store.ErrAlreadyExists)
	wantKV(t, "Get after a failed Create", mustGet(t, s, "/a", 0), "/a", "one", 1, 1)
	if rev := mustRevision(t, s); rev != 1 {
		t.Fatalf("Revision after a failed Create = %d, want 1", rev)
	}
}

func testUpdateCAS(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/a", "one")
	mustCreate(t, s, "/other", "x") // so that revisions and ModRevisions differ
	r3 := mustUpdate(t, s, "/a", "two", r1)
	if r3 != 3 {
		t.Fatalf("Update returned revision %d, want 3", r3)
	}
	_, err := s.Update(ctx(t), "/a", []byte("stale"), r1)
	wantErr(t, "Update with a stale revision", err, store.ErrConflict)
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Update conflict error %v (%T) is not a *store.ConflictError", err, err)
	}
	if ce.Actual != r3 || ce.Expected != r1 || ce.Key != "/a" {
		t.Fatalf("ConflictError = %+v, want key /a expected %d actual %d", ce, r1, r3)
	}
	wantKV(t, "Get after a conflicting Update", mustGet(t, s, "/a", 0), "/a", "two", r1, r3)
	r4 := mustUpdate(t, s, "/a", "three", 0)
	wantKV(t, "Get after an unconditional Update", mustGet(t, s, "/a", 0), "/a", "three", r1, r4)
	_, err = s.Update(ctx(t), "/a", []byte("future"), r4+10)
	wantErr(t, "Update with a revision from the future", err, store.ErrConflict)
	if rev := mustRevision(t, s); rev != r4 {
		t.Fatalf("Revision = %d after failed updates, want %d", rev, r4)
	}
}

func testUpdateMissing(t *testing.T, h *harness) {
	s := h.store(t)
	_, err := s.Update(ctx(t), "/a", []byte("x"), 0)
	wantErr(t, "unconditional Update of a missing key", err, store.ErrNotFound)
	_, err = s.Update(ctx(t), "/a", []byte("x"), 1)
	wantErr(t, "conditional Update of a missing key", err, store.ErrNotFound)
	r1 := mustCreate(t, s, "/a", "one")
	mustDelete(t, s, "/a", 0)
	_, err = s.Update(ctx(t), "/a", []byte("x"), r1)
	wantErr(t, "Update of a deleted key", err, store.ErrNotFound)
}

func testDeleteCAS(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/a", "one")
	r2 := mustUpdate(t, s, "/a", "two", r1)
	_, _, err := s.Delete(ctx(t), "/a", r1)
	wantErr(t, "Delete with a stale revision", err, store.ErrConflict)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Actual != r2 {
		t.Fatalf("Delete conflict error = %v, want a *store.ConflictError with Actual %d", err, r2)
	}
	prev, r3 := mustDelete(t, s, "/a", r2)
	if r3 != r2+1 {
		t.Fatalf("Delete returned revision %d, want %d", r3, r2+1)
	}
	wantKV(t, "Delete's previous value", prev, "/a", "two", r1, r2)
	_, err = s.Get(ctx(t), "/a", store.ReadOptions{})
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
	mustCreate(t, s, "/b", "b")
	prev, _ = mustDelete(t, s, "/b", 0)
	wantKV(t, "unconditional Delete's previous value", prev, "/b", "b", r3+1, r3+1)
}

func testDeleteMissing(t *testing.T, h *harness) {
	s := h.store(t)
	_, _, err := s.Delete(ctx(t), "/a", 0)
	wantErr(t, "Delete of a missing key", err, store.ErrNotFound)
	mustCreate(t, s, "/a", "one")
	mustDelete(t, s, "/a", 0)
	_, _, err = s.Delete(ctx(t), "/a", 0)
	wantErr(t, "second Delete", err, store.ErrNotFound)
	if rev := mustRevision(t, s); rev != 2 {
		t.Fatalf("Revision = %d after failed deletes, want 2", rev)
	}
}

func testRecreate(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/a", "one")
	_, r2 := mustDelete(t, s, "/a", r1)
	r3 := mustCreate(t, s, "/a", "again")
	if r3 != r2+1 {
		t.Fatalf("re-Create returned revision %d, want %d", r3, r2+1)
	}
	wantKV(t, "Get after re-Create", mustGet(t, s, "/a", 0), "/a", "again", r3, r3)
	r4 := mustUpdate(t, s, "/a", "updated", r3)
	wantKV(t, "Get after update of re-created key", mustGet(t, s, "/a", 0), "/a", "updated", r3, r4)
}

func testRevisions(t *testing.T, h *harness) {
	s := h.store(t)
	want := int64(0)
	check := func(what string, rev int64) {
		t.Helper()
		want++
		if rev != want {
			t.Fatalf("%s returned revision %d, want %d", what, rev, want)
		}
		if cur := mustRevision(t, s); cur != want {
			t.Fatalf("Revision after %s = %d, want %d", what, cur, want)
		}
	}
	for i := range 5 {
		check("Create", mustCreate(t, s, fmt.Sprintf("/k%d", i), "v"))
	}
	check("Update", mustUpdate(t, s, "/k0", "w", 1))
	_, err := s.Create(ctx(t), "/k1", nil)
	wantErr(t, "Create of an existing key", err, store.ErrAlreadyExists)
	_, err = s.Update(ctx(t), "/k1", nil, 1)
	wantErr(t, "Update with a stale revision", err, store.ErrConflict)
	_, rev := mustDelete(t, s, "/k2", 3)
	check("Delete", rev)
	if err := s.Compact(ctx(t), 2); err != nil {
		t.Fatal(err)
	}
	if cur := mustRevision(t, s); cur != want {
		t.Fatalf("Revision after Compact = %d, want %d (compaction uses no revision)", cur, want)
	}
	check("Create", mustCreate(t, s, "/k9", "v"))
	kv := mustGet(t, s, "/k0", 0)
	if kv.CreateRevision != 1 || kv.ModRevision != 6 {
		t.Fatalf("/k0 = %s, want created 1 modified 6", fmtKV(kv))
	}
}

func testGetAtRevision(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/a", "one")
	r2 := mustUpdate(t, s, "/a", "two", r1)
	_, r3 := mustDelete(t, s, "/a", r2)
	r4 := mustCreate(t, s, "/a", "three")
	mustCreate(t, s, "/b", "b")
	wantKV(t, "Get at r1", mustGet(t, s, "/a", r1), "/a", "one", r1, r1)
	wantKV(t, "Get at r2", mustGet(t, s, "/a", r2), "/a", "two", r1, r2)
	_, err := s.Get(ctx(t), "/a", store.ReadOptions{Revision: r3})
	wantErr(t, "Get at the deletion's revision", err, store.ErrNotFound)
	wantKV(t, "Get at r4", mustGet(t, s, "/a", r4), "/a", "three", r4, r4)
	wantKV(t, "Get at r4+1", mustGet(t, s, "/a", r4+1), "/a", "three", r4, r4)
	wantKV(t, "Get now", mustGet(t, s, "/a", 0), "/a", "three", r4, r4)
	_, err = s.Get(ctx(t), "/b", store.ReadOptions{Revision: r4})
	wantErr(t, "Get of a key before it was created", err, store.ErrNotFound)
}

func testListAtRevision(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/p/a", "a1")
	r2 := mustCreate(t, s, "/p/b", "b1")
	r3 := mustUpdate(t, s, "/p/a", "a2", r1)
	_, r4 := mustDelete(t, s, "/p/b", r2)
	r5 := mustCreate(t, s, "/p/c", "c1")
	cases := []struct {
		rev  int64
		want []string
	}{
		{r1, []string{"/p/a=a1"}},
		{r2, []string{"/p/a=a1", "/p/b=b1"}},
		{r3, []string{"/p/a=a2", "/p/b=b1"}},
		{r4, []string{"/p/a=a2"}},
		{r5, []string{"/p/a=a2", "/p/c=c1"}},
		{0, []string{"/p/a=a2", "/p/c=c1"}},
	}
	for _, c := range cases {
		res := mustList(t, s, "/p/", store.ListOptions{Revision: c.rev})
		if got := kvStrings(res.KVs); !equal(got, c.want) {
			t.Fatalf("List at revision %d = %v, want %v", c.rev, got, c.want)
		}
		wantRev := c.rev
		if wantRev == 0 {
			wantRev = r5
		}
		if res.Revision != wantRev {
			t.Fatalf("List at revision %d returned Revision %d, want %d", c.rev, res.Revision, wantRev)
		}
	}
}

func testFutureRevision(t *testing.T, h *harness) {
	s := h.store(t)
	r := mustCreate(t, s, "/a", "one")
	_, err := s.Get(ctx(t), "/a", store.ReadOptions{Revision: r + 1})
	wantErr(t, "Get at a future revision", err, store.ErrFutureRevision)
	_, err = s.List(ctx(t), "/", store.ListOptions{Revision: r + 1})
	wantErr(t, "List at a future revision", err, store.ErrFutureRevision)
	err = s.Compact(ctx(t), r+1)
	wantErr(t, "Compact at a future revision", err, store.ErrFutureRevision)
}

func testCompact(t *testing.T, h *harness) {
	s := h.store(t)
	r1 := mustCreate(t, s, "/k", "v1")
	r2 := mustUpdate(t, s, "/k", "v2", r1)
	r3 := mustCreate(t, s, "/x", "x")
	r4 := mustCreate(t, s, "/gone", "g")
	_, r5 := mustDelete(t, s, "/gone", r4)
	_, r6 := mustDelete(t, s, "/x", r3)
	if err := s.Compact(ctx(t), r5); err != nil {
		t.Fatalf("Compact(%d): %v", r5, err)
	}
	for _, rev := range []int64{r1, r2, r4} {
		_, err := s.Get(ctx(t), "/k", store.ReadOptions{Revision: rev})
		wantErr(t, fmt.Sprintf("Get at compacted revision %d", rev), err, store.ErrCompacted)
		_, err = s.List(ctx(t), "/", store.ListOptions{Revision: rev})
		wantErr(t, fmt.Sprintf("List at compacted revision %d", rev), err, store.ErrCompacted)
	}
	// The compacted revision itself stays readable.
	wantKV(t, "Get at the compacted revision", mustGet(t, s, "/k", r5), "/k", "v2", r1, r2)
	wantKV(t, "Get /x at the compacted revision", mustGet(t, s, "/x", r5), "/x", "x", r3, r3)
	_, err := s.Get(ctx(t), "/gone", store.ReadOptions{Revision: r5})
	wantErr(t, "Get of a key deleted at the compacted revision", err, store.ErrNotFound)
	res := mustList(t, s, "/", store.ListOptions{Revision: r5})
	if got, want := kvStrings(res.KVs), []string{"/k=v2", "/x=x"}; !equal(got, want) {
		t.Fatalf("List at the compacted revision = %v, want %v", got, want)
	}
	wantKV(t, "Get now", mustGet(t, s, "/k", 0), "/k", "v2", r1, r2)
	res = mustList(t, s, "/", store.ListOptions{})
	if got, want := kvStrings(res.KVs), []string{"/k=v2"}; !equal(got, want) || res.Revision != r6 {
		t.Fatalf("List now = %v at %d, want %v at %d", got, res.Revision, want, r6)
	}
	// Compacting again at or below the compacted revision does nothing.
	if err := s.Compact(ctx(t), r2); err != nil {
		t.Fatalf("Compact(%d) below the compacted revision: %v", r2, err)
	}
	if err := s.Compact(ctx(t), r5); err != nil {
		t.Fatalf("Compact(%d) again: %v", r5, err)
	}
	if err := s.Compact(ctx(t), r6); err != nil {
		t.Fatalf("Compact(%d) at the current revision: %v", r6, err)
	}
	_, err = s.Get(ctx(t), "/x", store.ReadOptions{Revision: r5})
	wantErr(t, "Get after compacting at the current revision", err, store.ErrCompacted)
	wantKV(t, "Get after compacting at the current revision", mustGet(t, s, "/k", 0), "/k", "v2", r1, r2)
	// Writes go on after compaction.
	r7 := mustUpdate(t, s, "/k", "v3", r2)
	mustCreate(t, s, "/gone", "back")
	wantKV(t, "Get after writing on", mustGet(t, s, "/k", r7), "/k", "v3", r1, r7)
}

func testListPrefix(t *testing.T, h *harness) {
	s := h.store(t)
	keys := []string{"/b", "/a/y/z", "/ab", "/a", "/a/", "/a/x", "/a0", "/", "/a/\u00e9"}
	for _, k := range keys {
		mustCreate(t, s, k, "v")
	}
	cases := []struct {
		prefix string
		after  string
		want   []string
	}{
		{"/a/", "", []string{"/a/", "/a/x", "/a/y/z", "/a/\u00e9"}},
		{"/a", "", []string{"/a", "/a/", "/a/x", "/a/y/z", "/a/\u00e9", "/a0", "/ab"}},
		{"", "", []string{"/", "/a", "/a/", "/a/x", "/a/y/z", "/a/\u00e9", "/a0", "/ab", "/b"}},
		{"/a/x", "", []string{"/a/x"}},
		{"/c", "", nil},
		{"/a/", "/a/x", []string{"/a/y/z", "/a/\u00e9"}},
		{"/a/", "/a/w", []string{"/a/x", "/a/y/z", "/a/\u00e9"}},
		{"/a/", "/", []string{"/a/", "/a/x", "/a/y/z", "/a/\u00e9"}},
		{"/a/", "/a/\u00e9", nil},
		{"/a/", "/b", nil},
	}
	for _, c := range cases {
		res := mustList(t, s, c.prefix, store.ListOptions{After: c.after})
		if got := kvKeys(res.KVs); !equal(got, c.want) {
			t.Errorf("List(%q, after %q) = %q, want %q", c.prefix, c.after, got, c.want)
		}
		if res.More {
			t.Errorf("List(%q, after %q) without a limit says More", c.prefix, c.after)
		}
	}
}

func testListPaging(t *testing.T, h *harness) {
	s := h.store(t)
	var want []string
	for i := range 30 {
		k := fmt.Sprintf("/p/%03d", i)
		mustCreate(t, s, k, "v")
		if i%6 == 5 {
			mustDelete(t, s, k, 0) // holes must not count against the limit
		} else {
			want = append(want, k)
		}
	}
	mustCreate(t, s, "/q", "after the prefix")
	if len(want) != 25 {
		t.Fatalf("setup: %d keys, want 25", len(want))
	}
	var got []string
	after := ""
	var rev int64
	for page := 0; ; page++ {
		res := mustList(t, s, "/p/", store.ListOptions{Limit: 10, After: after, Revision: rev})
		if page == 0 {
			rev = res.Revision
		} else if res.Revision != rev {
			t.Fatalf("page %d read at revision %d, want %d", page, res.Revision, rev)
		}
		wantLen, wantMore := 10, page < 2
		if page == 2 {
			wantLen = 5
		}
		if len(res.KVs) != wantLen || res.More != wantMore {
			t.Fatalf("page %d: %d keys, More %v; want %d, %v", page, len(res.KVs), res.More, wantLen, wantMore)
		}
		got = append(got, kvKeys(res.KVs)...)
		if !res.More {
			break
		}
		after = res.KVs[len(res.KVs)-1].Key
	}
	if !equal(got, want) {
		t.Fatalf("paged keys = %v, want %v", got, want)
	}
	// A limit that matches the number of keys exactly leaves More false.
	res := mustList(t, s, "/p/", store.ListOptions{Limit: 25})
	if len(res.KVs) != 25 || res.More {
		t.Fatalf("List with Limit 25 of 25 keys: %d keys, More %v; want 25, false", len(res.KVs), res.More)
	}
	res = mustList(t, s, "/p/", store.ListOptions{Limit: 24})
	if len(res.KVs) != 24 || !res.More || res.Remaining != 0 {
		t.Fatalf("List with Limit 24 of 25 keys: %d keys, More %v, Remaining %d; want 24, true, 0 (not asked)",
			len(res.KVs), res.More, res.Remaining)
	}
	// CountRemaining counts the live keys after the page, under the prefix,
	// at the page's revision.
	for _, c := range []struct {
		limit int
		after string
		want  int64
	}{{10, "", 15}, {10, "/p/012", 4}, {24, "", 1}, {25, "", 0}, {5, "/p/029", 0}} {
		res = mustList(t, s, "/p/", store.ListOptions{Limit: c.limit, After: c.after, CountRemaining: true, Revision: rev})
		if res.Remaining != c.want || res.More != (c.want > 0) {
			t.Errorf("List(limit %d, after %q, CountRemaining): Remaining %d, More %v; want %d, %v",
				c.limit, c.after, res.Remaining, res.More, c.want, c.want > 0)
		}
	}
}

func testListPagingUnderWrites(t *testing.T, h *harness) {
	s := h.store(t)
	n := h.n(500, 50)
	want := make([]string, n)
	for i := range n {
		k := fmt.Sprintf("/p/%05d", i)
		mustCreate(t, s, k, "v0")
		want[i] = k + "=v0"
	}
	first := mustList(t, s, "/p/", store.ListOptions{Limit: 7})
	rev := first.Revision

	// A writer changes the prefix while we page through it.
	c, cancel := context.WithCancel(ctx(t))
	writerDone := make(chan error, 1)
	go func() {
		writerDone <- func() error {
			for i := 0; ; i++ {
				k := fmt.Sprintf("/p/%05d", i%n)
				var err error
				switch i % 3 {
				case 0:
					_, err = s.Update(c, k, []byte(fmt.Sprint("v", i)), 0)
				case 1:
					_, _, err = s.Delete(c, k, 0)
				case 2:
					_, err = s.Create(c, fmt.Sprintf("%s-new%d", k, i), nil)
				}
				if c.Err() != nil {
					return nil
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}()
	}()
	got := kvStrings(first.KVs)
	after := first.KVs[len(first.KVs)-1].Key
	more := first.More
	for more {
		res := mustList(t, s, "/p/", store.ListOptions{Limit: 7, After: after, Revision: rev})
		if res.Revision != rev {
			t.Fatalf("page read at revision %d, want %d", res.Revision, rev)
		}
		got = append(got, kvStrings(res.KVs)...)
		more = res.More
		if len(res.KVs) > 0 {
			after = res.KVs[len(res.KVs)-1].Key
		} else if more {
			t.Fatal("List returned no keys but More")
		}
	}
	cancel()
	if err := <-writerDone; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if !equal(got, want) {
		t.Fatalf("paged %d keys at revision %d, want the %d keys of that revision (first difference at %d)",
			len(got), rev, len(want), firstDiff(got, want))
	}
}

func testManyKeys(t *testing.T, h *harness) {
	s := h.store(t)
	n := h.n(20000, 200)
	for i := range n {
		mustCreate(t, s, fmt.Sprintf("/many/%06d", i), fmt.Sprint(i))
	}
	mustCreate(t, s, "/many0", "outside")
	count, after := 0, ""
	rev := int64(0)
	for {
		res := mustList(t, s, "/many/", store.ListOptions{Limit: 1000, After: after, Revision: rev})
		rev = res.Revision
		for _, kv := range res.KVs {
			if want := fmt.Sprintf("/many/%06d", count); kv.Key != want || string(kv.Value) != fmt.Sprint(count) {
				t.Fatalf("key %d is %s, want %q", count, fmtKV(kv), want)
			}
			count++
		}
		if !res.More {
			break
		}
		after = res.KVs[len(res.KVs)-1].Key
	}
	if count != n {
		t.Fatalf("paged %d keys, want %d", count, n)
	}
	res := mustList(t, s, "/many/", store.ListOptions{})
	if len(res.KVs) != n {
		t.Fatalf("List of all %d keys returned %d", n, len(res.KVs))
	}
}

func testInvalidKeys(t *testing.T, h *harness) {
	s := h.store(t)
	bad := map[string]string{
		"empty":        "",
		"NUL":          "/a\x00b",
		"invalid UTF8": "/a\xffb",
		"too long":     "/" + strings.Repeat("k", store.MaxKeySize),
	}
	for name, key := range bad {
		_, err := s.Create(ctx(t), key, nil)
		wantErr(t, "Create of "+name+" key", err, store.ErrInvalidKey)
		_, err = s.Update(ctx(t), key, nil, 0)
		wantErr(t, "Update of "+name+" key", err, store.ErrInvalidKey)
		_, _, err = s.Delete(ctx(t), key, 0)
		wantErr(t, "Delete of "+name+" key", err, store.ErrInvalidKey)
		_, err = s.Get(ctx(t), key, store.ReadOptions{})
		wantErr(t, "Get of "+name+" key", err, store.ErrInvalidKey)
	}
	if rev := mustRevision(t, s); rev != 0 {
		t.Fatalf("Revision after invalid writes = %d, want 0", rev)
	}
	longest := "/" + strings.Repeat("k", store.MaxKeySize-1)
	mustCreate(t, s, longest, "ok")
	mustCreate(t, s, "/ключ/🔑 with spaces", "ok")
	if len(mustList(t, s, "/", store.ListOptions{}).KVs) != 2 {
		t.Fatal("List does not return the two valid keys")
	}
}

func testLargeValues(t *testing.T, h *harness) {
	s := h.store(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), store.MaxValueSize/16)
	if len(big) != store.MaxValueSize {
		t.Fatalf("setup: value of %d bytes", len(big))
	}
	rev := mustCreate(t, s, "/big", string(big))
	if kv := mustGet(t, s, "/big", 0); !bytes.Equal(kv.Value, big) {
		t.Fatalf("Get of a %d-byte value returned %d bytes that differ", len(big), len(kv.Value))
	}
	tooBig := append(big, 'x')
	_, err := s.Create(ctx(t), "/bigger", tooBig)
	wantErr(t, "Create of MaxValueSize+1 bytes", err, store.ErrValueTooLarge)
	_, err = s.Update(ctx(t), "/big", tooBig, 0)
	wantErr(t, "Update to MaxValueSize+1 bytes", err, store.ErrValueTooLarge)
	if kv := mustGet(t, s, "/big", 0); kv.ModRevision != rev || !bytes.Equal(kv.Value, big) {
		t.Fatal("a failed oversized Update changed the key")
	}
	mustUpdate(t, s, "/big", string(big[:len(big)-1]), rev)
}

// kvStrings returns "key=value" for each KV.
func kvStrings(kvs []*store.KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key + "=" + string(kv.Value)
	}
	return out
}

func kvKeys(kvs []*store.KeyValue) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, kv.Key)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
