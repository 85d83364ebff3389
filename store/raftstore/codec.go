package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/internal/mvcc"
)

// The data of a Raft log entry of type LogCommand: one kind byte, then the
// kind's body.
//
//	entryBatch:  batch ID (8 bytes, big-endian: unique per proposal, so
//	             that the member that proposed it recognizes it when it
//	             is applied), uvarint count, then per command:
//	             op byte, key (uvarint length + bytes),
//	             value (uvarint length + bytes), rev (varint)
//	entryMarker: nothing. The leader appends one when it takes office; once
//	             it is applied, everything committed before is applied too
//	             (it is the store's own Barrier, and one the FSM sees).
const (
	entryBatch  byte = 1
	entryMarker byte = 2
)

// errCorruptEntry is wrapped by decode errors.
var errCorruptEntry = errors.New("raftstore: corrupt log entry")

// cmdSize is the encoded size of c, near enough for batching limits.
func cmdSize(c *mvcc.Command) int {
	return 1 + 2*binary.MaxVarintLen32 + len(c.Key) + len(c.Value) + binary.MaxVarintLen64
}

// encodeBatch encodes cmds as an entryBatch.
func encodeBatch(id uint64, cmds []mvcc.Command, sizeHint int) []byte {
	b := make([]byte, 0, 1+8+binary.MaxVarintLen32+sizeHint)
	b = append(b, entryBatch)
	b = binary.BigEndian.AppendUint64(b, id)
	b = binary.AppendUvarint(b, uint64(len(cmds)))
	for i := range cmds {
		b = appendCommand(b, &cmds[i])
	}
	return b
}

func appendCommand(b []byte, c *mvcc.Command) []byte {
	b = append(b, byte(c.Op))
	b = appendString(b, c.Key)
	b = appendBytes(b, c.Value)
	return binary.AppendVarint(b, c.Rev)
}

// decodeEntry decodes the data of a LogCommand entry. It returns the kind
// and, for entryBatch, the batch ID and the commands.
func decodeEntry(data []byte) (kind byte, id uint64, cmds []mvcc.Command, err error) {
	if len(data) == 0 {
		return 0, 0, nil, fmt.Errorf("%w: empty", errCorruptEntry)
	}
	switch data[0] {
	case entryMarker:
		return entryMarker, 0, nil, nil
	case entryBatch:
	default:
		return 0, 0, nil, fmt.Errorf("%w: unknown kind %d", errCorruptEntry, data[0])
	}
	if len(data) < 9 {
		return 0, 0, nil, fmt.Errorf("%w: truncated batch ID", errCorruptEntry)
	}
	id = binary.BigEndian.Uint64(data[1:9])
	d := decoder{b: data[9:]}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(data)) {
		d.fail("command count %d is larger than the entry", n)
	}
	if d.err != nil {
		return 0, 0, nil, d.err
	}
	cmds = make([]mvcc.Command, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		cmds = append(cmds, d.command())
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last command", len(d.b))
	}
	if d.err != nil {
		return 0, 0, nil, d.err
	}
	return entryBatch, id, cmds, nil
}

// decoder reads the binary encodings of this package; the first error
// sticks and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorruptEntry, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a slice of the input (not a copy).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d past the end", n)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) command() mvcc.Command {
	op := mvcc.Op(d.byte())
	key := d.string()
	value := d.bytes()
	rev := d.varint()
	return mvcc.Command{Op: op, Key: key, Value: value, Rev: rev}
}

// kv decodes a KeyValue written by appendKV; nil if absent.
func (d *decoder) kv() *store.KeyValue {
	if d.byte() == 0 {
		return nil
	}
	kv := &store.KeyValue{Key: d.string()}
	kv.Value = append([]byte{}, d.bytes()...)
	kv.CreateRevision = d.varint()
	kv.ModRevision = d.varint()
	return kv
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendKV encodes kv, which may be nil.
func appendKV(b []byte, kv *store.KeyValue) []byte {
	if kv == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, kv.Key)
	b = appendBytes(b, kv.Value)
	b = binary.AppendVarint(b, kv.CreateRevision)
	return binary.AppendVarint(b, kv.ModRevision)
}
