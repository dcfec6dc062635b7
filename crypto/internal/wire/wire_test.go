package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestRoundTripAndLimits(t *testing.T) {
	w := NewWriter(0)
	w.U8(7)
	w.U64(1 << 40)
	w.F64(2.5)
	w.String("abc")
	w.Strings([]string{"x", "yz"})
	w.U32s([]uint32{1, 0xdeadbeef, 3})
	b := w.Bytes()
	// The vector is little-endian on the wire whatever the machine.
	if got := binary.LittleEndian.Uint32(b[len(b)-8:]); got != 0xdeadbeef {
		t.Fatalf("vector element on the wire: %#x", got)
	}
	r := NewReader(b)
	if r.U8("a") != 7 || r.U64("b") != 1<<40 || r.F64("c") != 2.5 || r.String(3, "d") != "abc" {
		t.Fatal("scalar round trip")
	}
	if ss := r.Strings(2, 2, "e"); len(ss) != 2 || ss[1] != "yz" {
		t.Fatalf("strings %v", ss)
	}
	if v := r.U32s(3, "f"); len(v) != 3 || v[1] != 0xdeadbeef {
		t.Fatalf("words %v", v)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(r *Reader){
		"string over limit": func(r *Reader) { r.U8(""); r.U64(""); r.F64(""); r.String(2, "d") },
		"truncated":         func(r *Reader) { r.Fixed(len(b)+1, "all") },
		"trailing":          func(r *Reader) { r.U8("") },
	} {
		r := NewReader(b)
		f(r)
		if err := r.Done(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestU32sAlignedInPlace checks the padding U32s writes for every prefix
// length, that the reader uses aligned bytes in place (little-endian) and
// copies misaligned ones, and that non-zero padding is refused.
func TestU32sAlignedInPlace(t *testing.T) {
	v := []uint32{1, 0xdeadbeef, 3, 4, 5}
	for prefix := 0; prefix < 8; prefix++ {
		w := NewWriter(0)
		w.Fixed(make([]byte, prefix))
		w.U32s(v)
		b := w.Bytes()
		start := len(b) - 4*len(v)
		if start%4 != 0 || start-prefix-4 > 3 {
			t.Fatalf("prefix %d: values start at %d", prefix, start)
		}
		r := NewReader(b)
		r.Fixed(prefix, "prefix")
		got := r.U32s(len(v), "v")
		if err := r.Done(); err != nil || len(got) != len(v) || got[1] != 0xdeadbeef || got[4] != 5 {
			t.Fatalf("prefix %d: %v, %v", prefix, got, err)
		}
		if LittleEndian {
			b[start] = 9 // aliased: the decoded vector sees the buffer
			if got[0] != 9 {
				t.Fatalf("prefix %d: aligned vector was copied", prefix)
			}
		}
		// The same bytes one byte off alignment decode by copying.
		shifted := make([]byte, len(b)+1)[1:]
		copy(shifted, b)
		r = NewReader(shifted)
		r.Fixed(prefix, "prefix")
		if got := r.U32s(len(v), "v"); r.Done() != nil || got[1] != 0xdeadbeef {
			t.Fatalf("prefix %d: misaligned decode %v", prefix, got)
		}
		if start-prefix-4 > 0 {
			b[prefix+4] = 1 // the first padding byte
			r = NewReader(b)
			r.Fixed(prefix, "prefix")
			r.U32s(len(v), "v")
			if err := r.Done(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix %d: non-zero padding accepted: %v", prefix, err)
			}
		}
	}
}
