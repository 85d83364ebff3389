package logs

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFollowBeforeFileExistsKeepsFirstRotation: a follower starts before
// the log file exists; the writer's first write fills the file past
// MaxSize, so it is rotated before the follower is woken. The rotated
// lines must still be shown, before the new file's.
func TestFollowBeforeFileExistsKeepsFirstRotation(t *testing.T) {
	for i := range 20 {
		path := filepath.Join(t.TempDir(), "0.log")
		k := key(path)
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var out strings.Builder
		done := make(chan error, 1)
		go func() {
			done <- Read(ctx, path, ReadOptions{Follow: true, PollInterval: time.Hour}, writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return out.Write(p)
			}))
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			hub.mu.Lock()
			subscribed := hub.files[k] != nil
			hub.mu.Unlock()
			if subscribed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the follower never subscribed")
			}
			time.Sleep(time.Millisecond)
		}
		w, err := NewWriter(path, WriterConfig{MaxSize: 10, MaxFiles: 10})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w.Stdout(), "first line, rotated at once\n")
		fmt.Fprint(w.Stdout(), "second\n")
		want := "first line, rotated at once\nsecond\n"
		got := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
		for got() != want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		w.Close()
		if got() != want {
			t.Fatalf("round %d: follower showed %q, want %q", i, got(), want)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
