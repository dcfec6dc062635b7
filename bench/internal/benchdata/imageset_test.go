package benchdata

import (
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func TestRandomImageSet(t *testing.T) {
	s := RandomImageSet(8, 50, rand.New(rand.NewPCG(1, 2)))
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 50 || len(s.Pixels) != 50*64 {
		t.Fatalf("%d images, %d pixels", s.Len(), len(s.Pixels))
	}
	seen := map[model.Label]bool{}
	for _, l := range s.Labels {
		for _, v := range l {
			seen[v] = true
		}
	}
	for _, p := range s.Pixels {
		if p < -1 || p > 1 {
			t.Fatalf("pixel %v outside [-1, 1]", p)
		}
	}
	if len(seen) != 4 {
		t.Fatalf("label states %v, want all four", seen)
	}
}
