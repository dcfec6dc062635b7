package secagg

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// TestSplitPartsMatchesSplitPayload: the streamed parts of a MaskedInput
// are byte for byte SplitPayload's parts of its encoding, for part sizes
// that cut inside the head, at its end and in the data; the head decoder
// finds the data where the encoding has it.
func TestSplitPartsMatchesSplitPayload(t *testing.T) {
	data := make([]uint32, 1001)
	for i := range data {
		data[i] = uint32(i*2654435761) ^ 0xdeadbeef
	}
	m := &MaskedInput{Header: Header{Session: "s/a0/x", Round: 3}, From: "site-b", Data: data}
	enc, _ := m.MarshalBinary()
	for _, size := range []int{0, 1, 7, 64, 100, 4096, len(enc) - 1, len(enc), len(enc) + 5} {
		want := SplitPayload(m.Type().String(), enc, size)
		var got []*Part
		if err := m.SplitParts(size, func(p *Part) error { got = append(got, p); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("size %d: %d parts, want %d", size, len(got), len(want))
		}
		for i := range want {
			a, _ := got[i].MarshalBinary()
			b, _ := want[i].MarshalBinary()
			if !bytes.Equal(a, b) {
				t.Fatalf("size %d: part %d differs", size, i)
			}
		}
	}
	hm, off, n, err := DecodeMaskedInputHead(enc[:min(len(enc), 300)])
	if err != nil || n != len(data) || off+4*n != len(enc) || hm.From != "site-b" || hm.Header.Round != 3 {
		t.Fatalf("head: %+v off %d n %d err %v", hm, off, n, err)
	}
	if _, _, _, err := DecodeMaskedInputHead(enc[:10]); err == nil {
		t.Fatal("a truncated head decoded")
	}
}

// TestEncodeAddMatchesEncode: encoding into a mask in place equals the mask
// plus Encode, and a refused input leaves the mask as it was.
func TestEncodeAddMatchesEncode(t *testing.T) {
	p, err := DefaultConfig().Params(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Values: []float32{0.5, -1e9, 0.25, 3, -0.125}, Weight: 0.4}
	mask := []uint32{1, 2, 3, 4, 5, math.MaxUint32}
	enc, c1, err := Encode(in, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := append([]uint32(nil), mask...)
	c2, err := encodeAdd(got, in, p, 3)
	if err != nil || c1 != c2 {
		t.Fatalf("clipped %d vs %d, err %v", c1, c2, err)
	}
	for i := range got {
		if got[i] != mask[i]+enc[i] {
			t.Fatalf("element %d: %d, want %d", i, got[i], mask[i]+enc[i])
		}
	}
	bad := Input{Values: []float32{0, 0, 0, 0, float32(math.NaN())}, Weight: 0.4}
	kept := append([]uint32(nil), mask...)
	if _, err := encodeAdd(kept, bad, p, 3); !errors.Is(err, ErrBadInput) {
		t.Fatalf("NaN input: %v", err)
	}
	for i := range kept {
		if kept[i] != mask[i] {
			t.Fatal("a refused input changed the mask")
		}
	}
}

// FuzzDecodeMaskedInputHead: the head decoder never panics, its offset
// lies within what it read, and on any whole encoding DecodeMaskedInput
// accepts it finds the same sender and exactly the data's bytes.
func FuzzDecodeMaskedInputHead(f *testing.F) {
	m := &MaskedInput{Header: Header{Session: "s", Round: 1}, From: "a", Data: []uint32{1, 2, 3}}
	enc, _ := m.MarshalBinary()
	f.Add(enc)
	f.Add(enc[:12])
	f.Fuzz(func(t *testing.T, b []byte) {
		hm, off, n, err := DecodeMaskedInputHead(b)
		if err != nil {
			return
		}
		if off > len(b) || n < 0 {
			t.Fatalf("offset %d of %d bytes, count %d", off, len(b), n)
		}
		if whole, err := DecodeMaskedInput(b); err == nil && (whole.From != hm.From || off+4*n != len(b)) {
			t.Fatalf("head %q off %d n %d, whole %q of %d bytes", hm.From, off, n, whole.From, len(b))
		}
	})
}
