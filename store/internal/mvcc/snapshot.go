package mvcc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/google/btree"

	"github.com/drover-io/drover/store"
)

// The snapshot format, version 1. All integers but the version and the
// checksum are unsigned varints (encoding/binary's Uvarint).
//
//	magic       8 bytes  "DROVSNAP"
//	version     2 bytes  big-endian, 1
//	revision             the revision of the last write
//	compacted            the compacted revision
//	keys                 the number of keys that follow
//	per key, in increasing byte order of the key:
//	  key length, key bytes
//	  versions           the number of versions that follow (at least 1)
//	  per version, in increasing ModRevision:
//	    kind     1 byte  0 = a value, 1 = a deletion
//	    ModRevision
//	    for a value: CreateRevision, value length, value bytes
//	checksum    4 bytes  big-endian CRC-32C (Castagnoli) of every byte before it
//
// A snapshot holds every version the Engine holds (the whole history since
// the compacted revision), so a restored Engine answers reads at past
// revisions and watches from them exactly as the original did. The ring of
// recent events is not saved: it is rebuilt as writes come.
const (
	snapshotMagic   = "DROVSNAP"
	snapshotVersion = 1
	kindValue       = 0
	kindDeletion    = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptSnapshot is wrapped by the errors Restore returns for a snapshot
// that is damaged, truncated, not a snapshot, or of an unknown version; the
// message says what is wrong and at which byte.
var ErrCorruptSnapshot = errors.New("mvcc: corrupt snapshot")

// Snapshot is the Engine's state at one instant, which can be written out
// while the Engine goes on changing.
type Snapshot struct {
	tree       *btree.BTreeG[keyIndex]
	rev        int64
	compactRev int64
}

// Snapshot captures the current state in O(1): the key tree is shared
// copy-on-write with the Engine, and versions are never changed in place.
// A replicated store's FSM.Snapshot calls it from the apply goroutine, and
// writes the result with WriteTo from another.
func (e *Engine) Snapshot() (*Snapshot, error) {
	e.mu.Lock() // Clone changes the tree's copy-on-write state
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("store: snapshot: %w", store.ErrClosed)
	}
	return &Snapshot{tree: e.tree.Clone(), rev: e.rev, compactRev: e.compactRev}, nil
}

// Revision returns the revision the snapshot was taken at.
func (s *Snapshot) Revision() int64 { return s.rev }

// WriteTo writes the snapshot to w in the format described above and returns
// the number of bytes written. It may be called from any goroutine, more
// than once.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &crcWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	var scratch [binary.MaxVarintLen64]byte
	uvarint := func(v uint64) {
		bw.Write(binary.AppendUvarint(scratch[:0], v))
	}
	bw.WriteString(snapshotMagic)
	bw.Write(binary.BigEndian.AppendUint16(scratch[:0], snapshotVersion))
	uvarint(uint64(s.rev))
	uvarint(uint64(s.compactRev))
	uvarint(uint64(s.tree.Len()))
	s.tree.Ascend(func(ki keyIndex) bool {
		uvarint(uint64(len(ki.key)))
		bw.WriteString(ki.key)
		uvarint(uint64(len(ki.versions)))
		for _, kv := range ki.versions {
			if kv.CreateRevision == 0 {
				bw.WriteByte(kindDeletion)
				uvarint(uint64(kv.ModRevision))
				continue
			}
			bw.WriteByte(kindValue)
			uvarint(uint64(kv.ModRevision))
			uvarint(uint64(kv.CreateRevision))
			uvarint(uint64(len(kv.Value)))
			bw.Write(kv.Value)
		}
		return cw.err == nil
	})
	// bufio.Writer keeps the first error, so checking once is enough.
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("mvcc: write snapshot: %w", err)
	}
	n, err := w.Write(binary.BigEndian.AppendUint32(scratch[:0], cw.crc))
	if err != nil {
		return cw.n + int64(n), fmt.Errorf("mvcc: write snapshot: %w", err)
	}
	return cw.n + int64(n), nil
}

// crcWriter writes to w and keeps the CRC-32C of what it wrote.
type crcWriter struct {
	w   io.Writer
	crc uint32
	n   int64
	err error
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// Restore replaces the Engine's state with the snapshot read from r, which
// must hold exactly one snapshot written by Snapshot.WriteTo. The snapshot is
// read and checked completely before anything changes: if it is corrupt
// (ErrCorruptSnapshot) or r fails, the Engine keeps its state.
//
// Watches go on if the restored history still holds their cursor (the
// restored compacted revision <= cursor <= restored revision) and end with
// store.ErrCompacted otherwise.
func (e *Engine) Restore(r io.Reader) error {
	st, err := readSnapshot(r)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("store: restore: %w", store.ErrClosed)
	}
	e.tree, e.rev, e.compactRev, e.multi = st.tree, st.rev, st.compactRev, st.multi
	e.ring.reset(st.rev)
	e.gen++
	e.wakeLocked()
	e.log.Info("restored from snapshot", "revision", st.rev, "compacted", st.compactRev, "keys", st.tree.Len())
	return nil
}

// restored is a state read from a snapshot.
type restored struct {
	tree       *btree.BTreeG[keyIndex]
	rev        int64
	compactRev int64
	multi      map[string]struct{}
}

// snapReader reads a snapshot and keeps the CRC-32C and the offset of what
// it has read.
type snapReader struct {
	r   *bufio.Reader
	crc uint32
	off int64
	buf [binary.MaxVarintLen64]byte

	// Where the reader is, for error messages.
	key     string // the key being read, if any
	version int64  // the index of the version being read, or -1
}

// corrupt returns an ErrCorruptSnapshot that says what is wrong and where.
func (s *snapReader) corrupt(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	switch {
	case s.key != "" && s.version >= 0:
		msg = fmt.Sprintf("key %q, version %d: %s", s.key, s.version, msg)
	case s.key != "":
		msg = fmt.Sprintf("key %q: %s", s.key, msg)
	}
	return fmt.Errorf("%w: %s", ErrCorruptSnapshot, msg)
}

// readErr turns an error from the underlying reader into the error to
// return, naming what was being read.
func (s *snapReader) readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s.corrupt("truncated at byte %d while reading %s", s.off, what)
	}
	return fmt.Errorf("mvcc: read snapshot at byte %d (%s): %w", s.off, what, err)
}

func (s *snapReader) full(p []byte, what string) error {
	n, err := io.ReadFull(s.r, p)
	s.crc = crc32.Update(s.crc, castagnoli, p[:n])
	s.off += int64(n)
	if err != nil {
		return s.readErr(err, what)
	}
	return nil
}

func (s *snapReader) byte(what string) (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, s.readErr(err, what)
	}
	s.buf[0] = b
	s.crc = crc32.Update(s.crc, castagnoli, s.buf[:1])
	s.off++
	return b, nil
}

// uvarint reads an unsigned varint that must be at most limit.
func (s *snapReader) uvarint(what string, limit uint64) (uint64, error) {
	start := s.off
	var v uint64
	for i := 0; ; i++ {
		if i == binary.MaxVarintLen64 {
			return 0, s.corrupt("byte %d: %s is not a valid varint", start, what)
		}
		b, err := s.r.ReadByte()
		if err != nil {
			return 0, s.readErr(err, what)
		}
		s.buf[i] = b
		s.off++
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, s.corrupt("byte %d: %s overflows 64 bits", start, what)
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			s.crc = crc32.Update(s.crc, castagnoli, s.buf[:i+1])
			break
		}
	}
	if v > limit {
		return 0, s.corrupt("byte %d: %s is %d, more than %d", start, what, v, limit)
	}
	return v, nil
}

// readVersion reads one version of s.key and checks it against the
// version before it (last, nil for the first) and the snapshot's revisions.
// It does not set Key.
func (s *snapReader) readVersion(last *store.KeyValue, rev, compactRev uint64) (*store.KeyValue, error) {
	kind, err := s.byte("the kind")
	if err != nil {
		return nil, err
	}
	if kind != kindValue && kind != kindDeletion {
		return nil, s.corrupt("unknown kind %d", kind)
	}
	modRev, err := s.uvarint("the revision", rev)
	if err != nil {
		return nil, err
	}
	kv := &store.KeyValue{ModRevision: int64(modRev)}
	switch {
	case modRev == 0:
		return nil, s.corrupt("revision 0")
	case last != nil && kv.ModRevision <= last.ModRevision:
		return nil, s.corrupt("revision %d is not after %d", modRev, last.ModRevision)
	case last != nil && modRev <= compactRev:
		return nil, s.corrupt("revision %d should have been dropped by compaction at %d", modRev, compactRev)
	}
	if kind == kindDeletion {
		if last == nil || last.CreateRevision == 0 {
			return nil, s.corrupt("deletes a key that does not exist")
		}
		return kv, nil
	}
	createRev, err := s.uvarint("the create revision", modRev)
	if err != nil {
		return nil, err
	}
	kv.CreateRevision = int64(createRev)
	creates := last == nil && modRev > compactRev || last != nil && last.CreateRevision == 0
	switch {
	case createRev == 0:
		return nil, s.corrupt("create revision 0")
	case creates && createRev != modRev:
		return nil, s.corrupt("create revision %d, but this version creates the key at %d", createRev, modRev)
	case last != nil && last.CreateRevision != 0 && kv.CreateRevision != last.CreateRevision:
		return nil, s.corrupt("create revision %d, but the key was created at %d", createRev, last.CreateRevision)
	}
	vlen, err := s.uvarint("the value length", store.MaxValueSize)
	if err != nil {
		return nil, err
	}
	kv.Value = make([]byte, vlen)
	if err := s.full(kv.Value, "the value"); err != nil {
		return nil, err
	}
	return kv, nil
}

// readSnapshot reads and checks a whole snapshot.
func readSnapshot(r io.Reader) (*restored, error) {
	s := &snapReader{r: bufio.NewReaderSize(r, 64<<10), version: -1}
	var head [len(snapshotMagic) + 2]byte
	if err := s.full(head[:], "the header"); err != nil {
		return nil, err
	}
	if string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, s.corrupt("not a Drover store snapshot: the header is %q, want %q", head[:len(snapshotMagic)], snapshotMagic)
	}
	if v := binary.BigEndian.Uint16(head[len(snapshotMagic):]); v != snapshotVersion {
		return nil, s.corrupt("unsupported format version %d (this build reads version %d)", v, snapshotVersion)
	}
	rev, err := s.uvarint("the revision", MaxRevision)
	if err != nil {
		return nil, err
	}
	compactRev, err := s.uvarint("the compacted revision", rev)
	if err != nil {
		return nil, err
	}
	nkeys, err := s.uvarint("the number of keys", MaxRevision)
	if err != nil {
		return nil, err
	}
	st := &restored{
		tree:       btree.NewG(btreeDegree, lessKey),
		rev:        int64(rev),
		compactRev: int64(compactRev),
		multi:      make(map[string]struct{}),
	}
	var (
		prevKey  string
		versions uint64 // versions after compactRev: there must be one per revision
	)
	for k := uint64(0); k < nkeys; k++ {
		s.key, s.version = "", -1
		n, err := s.uvarint("a key length", store.MaxKeySize)
		if err != nil {
			return nil, err
		}
		keyBuf := make([]byte, n)
		if err := s.full(keyBuf, "a key"); err != nil {
			return nil, err
		}
		key := string(keyBuf)
		if err := store.ValidateKey(key); err != nil {
			return nil, s.corrupt("key %d: %v", k, err)
		}
		if k > 0 && key <= prevKey {
			return nil, s.corrupt("key %q is out of order (after %q)", key, prevKey)
		}
		prevKey = key
		s.key = key
		nv, err := s.uvarint("the number of versions", MaxRevision)
		if err != nil {
			return nil, err
		}
		if nv == 0 {
			return nil, s.corrupt("the key has no versions")
		}
		ki := keyIndex{key: key, versions: make([]*store.KeyValue, 0, min(nv, 64))}
		var last *store.KeyValue
		for i := uint64(0); i < nv; i++ {
			s.version = int64(i)
			kv, err := s.readVersion(last, rev, compactRev)
			if err != nil {
				return nil, err
			}
			kv.Key = key
			if uint64(kv.ModRevision) > compactRev {
				versions++
			}
			ki.versions = append(ki.versions, kv)
			last = kv
		}
		st.tree.ReplaceOrInsert(ki)
		if len(ki.versions) > 1 || last.CreateRevision == 0 {
			st.multi[key] = struct{}{}
		}
	}
	s.key, s.version = "", -1
	if want := rev - compactRev; versions != want {
		return nil, s.corrupt("holds %d writes after the compacted revision %d, but the revision is %d", versions, compactRev, rev)
	}
	sum := s.crc
	var tail [4]byte
	if err := s.full(tail[:], "the checksum"); err != nil {
		return nil, err
	}
	if got := binary.BigEndian.Uint32(tail[:]); got != sum {
		return nil, s.corrupt("checksum mismatch: the snapshot says %#08x, its contents give %#08x", got, sum)
	}
	if _, err := s.r.ReadByte(); err == nil {
		return nil, s.corrupt("unexpected data after the checksum at byte %d", s.off)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("mvcc: read snapshot: %w", err)
	}
	return st, nil
}
