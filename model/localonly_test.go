package model

import (
	"slices"
	"testing"
)

func TestLocalOnlySplitsAndMerges(t *testing.T) {
	w := MustWeights(Tensor{Name: "bn.scale", Shape: []int{1}, Data: []float32{1}},
		Tensor{Name: "conv.w", Shape: []int{2}, Data: []float32{2, 3}},
		Tensor{Name: "head.bn.bias", Shape: []int{1}, Data: []float32{4}})
	l, err := CompileLocalOnly([]string{`(^|\.)bn\.`})
	if err != nil {
		t.Fatal(err)
	}
	names := func(w Weights) (out []string) {
		for _, t := range w.Tensors() {
			out = append(out, t.Name)
		}
		return out
	}
	shared, local := l.Shared(w), l.Local(w)
	if !slices.Equal(names(shared), []string{"conv.w"}) || !slices.Equal(names(local), []string{"bn.scale", "head.bn.bias"}) {
		t.Fatalf("shared %v local %v", names(shared), names(local))
	}
	if got := l.Merge(shared, w); got.Hash() != w.Hash() {
		t.Fatalf("merge %v, want %v", names(got), names(w))
	}
	var none LocalOnly
	if !none.Empty() || none.Shared(w).Hash() != w.Hash() || none.Local(w).Len() != 0 {
		t.Fatal("zero LocalOnly is not empty")
	}
	if _, err := CompileLocalOnly([]string{"("}); err == nil {
		t.Fatal("bad pattern compiled")
	}
}
