//go:build linux

package staticpod

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirWatch watches a directory with inotify. C receives (it holds one
// value, so that a burst of changes makes one send) each time a file in
// the directory is created, written, renamed or removed.
type dirWatch struct {
	C <-chan struct{}

	f    *os.File
	done chan struct{}
	dead atomic.Bool
	once sync.Once
}

// watchDir starts watching dir.
func watchDir(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_ATTRIB |
		unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify: watch %s: %w", dir, err)
	}
	ch := make(chan struct{}, 1)
	w := &dirWatch{
		C: ch,
		// A non-blocking descriptor in an *os.File goes through the
		// runtime's poller, so Close ends a Read that waits.
		f:    os.NewFile(uintptr(fd), "inotify"),
		done: make(chan struct{}),
	}
	go w.read(ch)
	return w, nil
}

func (w *dirWatch) read(ch chan<- struct{}) {
	defer close(w.done)
	defer w.dead.Store(true)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return // closed by Stop, or broken: the poll remains
		}
		gone := false
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
				gone = true
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
		if n > 0 {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		if gone {
			return // the directory is gone or moved: watch it again later
		}
	}
}

// Dead reports whether the watch has ended on its own, because the
// directory was removed or moved: a new one must be started.
func (w *dirWatch) Dead() bool { return w.dead.Load() }

// Stop ends the watch and waits for its goroutine. It may be called more
// than once.
func (w *dirWatch) Stop() {
	w.once.Do(func() {
		w.f.Close()
		<-w.done
	})
}
