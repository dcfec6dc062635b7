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
