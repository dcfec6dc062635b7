// Package wire is the small binary codec under the crypto packages' message
// encodings: big-endian fixed-width integers and length-prefixed byte
// strings, with a Reader that records the first error, bounds every length
// it reads and refuses trailing bytes. It holds no message types itself.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// ErrMalformed reports bytes that do not decode: truncated input, a length
// beyond its bound, trailing bytes or a bad header.
var ErrMalformed = errors.New("malformed message")

// Writer appends encoded fields to a byte slice.
type Writer struct{ b []byte }

// NewWriter returns a Writer whose buffer starts with capacity n.
func NewWriter(n int) *Writer { return &Writer{b: make([]byte, 0, n)} }

// Bytes returns the encoded bytes.
func (w *Writer) Bytes() []byte { return w.b }

// U8 appends one byte.
func (w *Writer) U8(v uint8) { w.b = append(w.b, v) }

// U32 appends a big-endian uint32.
func (w *Writer) U32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }

// U64 appends a big-endian uint64.
func (w *Writer) U64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

// F64 appends a float64 as its IEEE-754 bits.
func (w *Writer) F64(v float64) { w.U64(math.Float64bits(v)) }

// Fixed appends b without a length prefix (for fixed-size fields).
func (w *Writer) Fixed(b []byte) { w.b = append(w.b, b...) }

// Blob appends b with a uint32 length prefix.
func (w *Writer) Blob(b []byte) {
	w.U32(uint32(len(b)))
	w.b = append(w.b, b...)
}

// String appends s with a uint32 length prefix.
func (w *Writer) String(s string) {
	w.U32(uint32(len(s)))
	w.b = append(w.b, s...)
}

// Strings appends a count followed by each string.
func (w *Writer) Strings(ss []string) {
	w.U32(uint32(len(ss)))
	for _, s := range ss {
		w.String(s)
	}
}

// U32s appends a count, zero bytes up to the next multiple of 4 from the
// start of the encoding, and each value little-endian: the layout of a ring
// vector in memory on common machines, aligned so that a Reader can use the
// bytes in place.
func (w *Writer) U32s(v []uint32) {
	w.U32(uint32(len(v)))
	w.b = append(w.b, make([]byte, -len(w.b)&3)...)
	if LittleEndian {
		w.b = append(w.b, WordBytes(v)...)
		return
	}
	off := len(w.b)
	w.b = append(w.b, make([]byte, 4*len(v))...)
	for i, x := range v {
		binary.LittleEndian.PutUint32(w.b[off+4*i:], x)
	}
}

// LittleEndian reports whether this machine stores words little-endian, so
// that ring vectors can be copied to and from the wire as they lie.
var LittleEndian = binary.NativeEndian.Uint32([]byte{1, 0, 0, 0}) == 1

// WordBytes views a word slice as its bytes in memory (no copy). Callers
// use it only when LittleEndian holds, where it is the wire layout.
func WordBytes(v []uint32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// Reader decodes fields from a byte slice. The first failure sticks: later
// reads return zero values and Err reports it.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first decoding error, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns how many bytes have been consumed.
func (r *Reader) Offset() int { return r.off }

// Failf records a decoding error (if none is recorded yet).
func (r *Reader) Failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *Reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Failf("%s: need %d bytes, %d left", what, n, len(r.b)-r.off)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// U8 reads one byte.
func (r *Reader) U8(what string) uint8 {
	s := r.take(1, what)
	if s == nil {
		return 0
	}
	return s[0]
}

// U32 reads a big-endian uint32.
func (r *Reader) U32(what string) uint32 {
	s := r.take(4, what)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

// U64 reads a big-endian uint64.
func (r *Reader) U64(what string) uint64 {
	s := r.take(8, what)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

// F64 reads a float64 and refuses NaN and infinities.
func (r *Reader) F64(what string) float64 {
	v := math.Float64frombits(r.U64(what))
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.Failf("%s: non-finite value", what)
		return 0
	}
	return v
}

// Fixed reads exactly n bytes into a fresh slice.
func (r *Reader) Fixed(n int, what string) []byte {
	s := r.take(n, what)
	if s == nil {
		return nil
	}
	return append([]byte(nil), s...)
}

// Blob reads a length-prefixed byte string of at most max bytes.
func (r *Reader) Blob(max int, what string) []byte {
	n := r.U32(what)
	if r.err == nil && int64(n) > int64(max) {
		r.Failf("%s: length %d over limit %d", what, n, max)
		return nil
	}
	return r.Fixed(int(n), what)
}

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(max int, what string) string {
	return string(r.Blob(max, what))
}

// Count reads a uint32 element count and refuses one above max.
func (r *Reader) Count(max int, what string) int {
	n := r.U32(what)
	if r.err == nil && int64(n) > int64(max) {
		r.Failf("%s: count %d over limit %d", what, n, max)
		return 0
	}
	return int(n)
}

// Strings reads a count (at most maxN) of strings of at most maxLen bytes.
func (r *Reader) Strings(maxN, maxLen int, what string) []string {
	n := r.Count(maxN, what)
	if r.err != nil {
		return nil
	}
	out := make([]string, 0, min(n, 1024))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.String(maxLen, what))
	}
	return out
}

// U32s reads a count of at most max, the zero padding U32s wrote, and the
// values. On a little-endian machine, when the values lie 4-byte aligned in
// memory (the reader's buffer starts aligned, as fresh allocations do), the
// result aliases the buffer instead of copying it: a 4 MB masked input is
// then decoded without a copy. The caller must not reuse the buffer while
// it uses the result.
func (r *Reader) U32s(max int, what string) []uint32 {
	n := r.Count(max, what)
	for _, p := range r.take(-r.off&3, what+" padding") {
		if p != 0 && r.err == nil {
			r.Failf("%s: non-zero padding", what)
		}
	}
	s := r.take(4*n, what)
	if s == nil || r.err != nil {
		return nil
	}
	if n == 0 {
		return []uint32{}
	}
	if LittleEndian && uintptr(unsafe.Pointer(unsafe.SliceData(s)))%4 == 0 {
		return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(s))), n)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(s[4*i:])
	}
	return out
}

// Done records an error if bytes remain unread, and returns Err.
func (r *Reader) Done() error {
	if r.err == nil && r.off != len(r.b) {
		r.Failf("%d trailing bytes", len(r.b)-r.off)
	}
	return r.err
}
