package model

import (
	"errors"
	"math"
	"testing"
)

func TestNewWeightsSortsAndValidates(t *testing.T) {
	w, err := NewWeights(
		Tensor{Name: "b", Shape: []int{2}, Data: []float32{3, 4}},
		Tensor{Name: "a", Shape: []int{1, 2}, Data: []float32{1, 2}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Tensors()[0].Name; got != "a" {
		t.Fatalf("first tensor %q, want a", got)
	}
	flat := w.Flatten()
	want := []float32{1, 2, 3, 4}
	for i := range want {
		if flat[i] != want[i] {
			t.Fatalf("flat %v want %v", flat, want)
		}
	}
	back, err := Unflatten(w.Specs(), flat)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != w.Hash() {
		t.Fatal("unflatten changed the hash")
	}

	_, err = NewWeights(Tensor{Name: "x", Shape: []int{3}, Data: []float32{1}}, Tensor{Name: "x", Shape: []int{1}, Data: []float32{1}})
	if !errors.Is(err, ErrShape) || !errors.Is(err, ErrDuplicate) {
		t.Fatalf("want shape and duplicate errors, got %v", err)
	}
}

func TestHashSensitivity(t *testing.T) {
	a := MustWeights(Tensor{Name: "w", Shape: []int{2}, Data: []float32{1, 2}})
	b := MustWeights(Tensor{Name: "w", Shape: []int{2}, Data: []float32{1, 2.0000002}})
	c := MustWeights(Tensor{Name: "w", Shape: []int{1, 2}, Data: []float32{1, 2}})
	if a.Hash() == b.Hash() || a.Hash() == c.Hash() {
		t.Fatal("hash ignores a value or shape change")
	}
	if a.Hash() != a.Clone().Hash() {
		t.Fatal("clone hash differs")
	}
}

func TestCheckSpecAndFinite(t *testing.T) {
	a := MustWeights(Tensor{Name: "w", Shape: []int{2}, Data: []float32{1, 2}})
	b := MustWeights(Tensor{Name: "w", Shape: []int{1, 2}, Data: []float32{1, float32(math.NaN())}}, Tensor{Name: "z", Shape: []int{1}, Data: []float32{0}})
	err := a.CheckSameSpec(b)
	if !errors.Is(err, ErrShape) || !errors.Is(err, ErrMissing) {
		t.Fatalf("CheckSameSpec = %v", err)
	}
	if !errors.Is(b.CheckFinite(), ErrNonFinite) {
		t.Fatal("NaN not reported")
	}
	if a.CheckFinite() != nil {
		t.Fatal("finite weights reported")
	}
	if got := a.L2Norm(); math.Abs(got-math.Sqrt(5)) > 1e-12 {
		t.Fatalf("L2Norm %v", got)
	}
}
