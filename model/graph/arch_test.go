package graph

import (
	"errors"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// TestRecipe checks that a Recipe's specs and initial weights are those of
// the graph it records, and that an invalid architecture or a failing
// build is reported rather than recorded.
func TestRecipe(t *testing.T) {
	r := Recipe{Validate: func() error { return nil }, Build: func(b *Builder) error {
		linear(b, 4)
		return b.Err()
	}}
	specs, err := r.Specs()
	if err != nil {
		t.Fatal(err)
	}
	sb := NewSpecBuilder()
	linear(sb, 4)
	if !slices.EqualFunc(specs, sb.Specs(), func(a, b model.TensorSpec) bool {
		return a.Name == b.Name && slices.Equal(a.Shape, b.Shape)
	}) {
		t.Fatalf("recipe specs %v, graph specs %v", specs, sb.Specs())
	}
	w, err := r.InitWeights(3)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := InitWeights(sb.Params(), 3)
	if w.Hash() != want.Hash() {
		t.Fatal("recipe weights differ from the graph's initial weights")
	}
	bad := errors.New("bad arch")
	if _, err := (Recipe{Validate: func() error { return bad }, Build: r.Build}).Specs(); !errors.Is(err, bad) {
		t.Fatalf("invalid architecture: %v", err)
	}
	if _, err := (Recipe{Validate: r.Validate, Build: func(*Builder) error { return bad }}).InitWeights(1); !errors.Is(err, bad) {
		t.Fatalf("failing build: %v", err)
	}
}
