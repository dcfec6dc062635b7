package model

import (
	"errors"
	"testing"
)

func TestImageSetAppendAndValidate(t *testing.T) {
	a := &ImageSet{Size: 2, Pixels: make([]float32, 4), Cond: make([][CondDim]float32, 1), Labels: make([][NumLabels]Label, 1), PatientIDs: []string{"p1"}}
	b := &ImageSet{Size: 2, Pixels: []float32{1, 2, 3, 4}, Cond: make([][CondDim]float32, 1), Labels: make([][NumLabels]Label, 1), Synthetic: []bool{true}}
	if err := a.Append(b); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2 || a.Image(1)[3] != 4 || !a.Synthetic[1] || a.Synthetic[0] || a.PatientIDs[0] != "p1" {
		t.Fatalf("append result wrong: %+v", a)
	}
	c := &ImageSet{Size: 3}
	if err := a.Append(c); !errors.Is(err, ErrShape) {
		t.Fatalf("size mismatch accepted: %v", err)
	}
	a.Pixels = a.Pixels[:5]
	if err := a.Validate(); !errors.Is(err, ErrShape) {
		t.Fatalf("bad pixel count accepted: %v", err)
	}
}

func TestSubset(t *testing.T) {
	s := &ImageSet{Size: 1, Pixels: []float32{0, 1, 2}, Cond: make([][CondDim]float32, 3), Labels: make([][NumLabels]Label, 3),
		PatientIDs: []string{"a", "b", "c"}, Synthetic: []bool{false, true, false}}
	s.Cond[2][0] = 7
	got := s.Subset([]int{2, 1})
	if got.Len() != 2 || got.Pixels[0] != 2 || got.Pixels[1] != 1 || got.Cond[0][0] != 7 ||
		got.PatientIDs[0] != "c" || !got.Synthetic[1] || got.Validate() != nil {
		t.Errorf("Subset = %+v", got)
	}
	got.Pixels[0] = 9
	if s.Pixels[2] != 2 {
		t.Error("Subset shares pixels with its source")
	}
	if e := s.Subset(nil); e.Len() != 0 || e.Size != 1 {
		t.Errorf("empty subset %+v", e)
	}
}
