package secagg

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := Config{ThresholdFraction: 0.5, MinThreshold: 1, Clip: -1, MaxWeight: 0, SparseAbove: -1, Neighbours: 3, NeighbourFraction: 2}
	err := c.Validate()
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	for _, want := range []string{"threshold_fraction", "min_threshold", "clip", "max_weight", "sparse_above", "neighbours", "neighbour_fraction"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParamsThresholdAndGraph(t *testing.T) {
	cases := []struct {
		n, t, k, tk int
	}{{3, 2, 0, 0}, {10, 7, 0, 0}, {50, 34, 0, 0}, {64, 43, 0, 0}, {100, 67, 14, 10}, {1000, 667, 20, 14}}
	for _, tc := range cases {
		p, err := DefaultConfig().Params(tc.n, 10)
		if err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		if p.Threshold != tc.t || p.Neighbours != tc.k || p.NeighbourThreshold != tc.tk {
			t.Errorf("n=%d: t=%d k=%d t_k=%d, want %d %d %d", tc.n, p.Threshold, p.Neighbours, p.NeighbourThreshold, tc.t, tc.k, tc.tk)
		}
	}
}

func TestHararyGraphIsRegularAndSymmetric(t *testing.T) {
	ctx := Context{Session: "s", Round: 1, Params: Params{Neighbours: 6}}
	for i := 0; i < 20; i++ {
		ctx.Roster = append(ctx.Roster, string(rune('a'+i)))
	}
	g := newGraph(&ctx, ctx.Hash())
	for i := 0; i < 20; i++ {
		nb := g.neighbours(i)
		if len(nb) != 6 || slices.Contains(nb, i) {
			t.Fatalf("site %d has neighbours %v, want 6 others", i, nb)
		}
		for _, j := range nb {
			if !g.adjacent(j, i) {
				t.Fatalf("edge %d-%d is not symmetric", i, j)
			}
		}
	}
	// Another round draws another graph.
	ctx.Round = 2
	g2 := newGraph(&ctx, ctx.Hash())
	if slices.Equal(g.pos, g2.pos) {
		t.Fatal("graph does not depend on the context")
	}
}

func TestEncodeClipsRefusesAndCannotOverflow(t *testing.T) {
	p := Params{Length: 3, Threshold: 2, Clip: 0.5, MaxWeight: 1}
	n := 3
	enc, clipped, err := Encode(Input{Values: []float32{0.75, -2, 0.25}, Weight: 1}, p, n)
	if err != nil {
		t.Fatal(err)
	}
	if clipped != 2 {
		t.Fatalf("clipped %d elements, want 2", clipped)
	}
	s := p.Scale(n)
	if int32(enc[0]) != int32(math.Round(0.5*s)) || int32(enc[1]) != int32(math.Round(-0.5*s)) {
		t.Fatalf("clipped values encode to %d %d", int32(enc[0]), int32(enc[1]))
	}
	// n inputs at +C sum without wrapping past int32.
	sum := make([]uint32, 4)
	for i := 0; i < n; i++ {
		e, _, _ := Encode(Input{Values: []float32{0.5, 0.5, 0.5}, Weight: 1}, p, n)
		for j := range e {
			sum[j] += e[j]
		}
	}
	dec, w, err := DecodeSum(sum, p, n)
	if err != nil || math.Abs(dec[0]-1.5) > 3/s || math.Abs(w-3) > 1e-6 {
		t.Fatalf("decode of saturated sum: %v %v %v", dec, w, err)
	}
	for _, bad := range []Input{
		{Values: []float32{float32(math.NaN()), 0, 0}, Weight: 1},
		{Values: []float32{float32(math.Inf(1)), 0, 0}, Weight: 1},
		{Values: []float32{0, 0}, Weight: 1},
		{Values: []float32{0, 0, 0}, Weight: 1.5},
	} {
		if _, _, err := Encode(bad, p, n); !errors.Is(err, ErrBadInput) {
			t.Errorf("Encode(%v) = %v, want ErrBadInput", bad, err)
		}
	}
	if _, err := PreScale([]float32{1}, 2, p); !errors.Is(err, ErrBadInput) {
		t.Errorf("PreScale with weight over max: %v", err)
	}
}

func TestMaskExpansionIsSplitInvariant(t *testing.T) {
	key := MaskKey{1, 2, 3}
	full := make([]uint32, 100_003)
	Expand(full, key, 0)
	part := make([]uint32, 1000)
	Expand(part, key, 4000)
	if !slices.Equal(part, full[4000:5000]) {
		t.Fatal("expansion at an offset differs from the same slice of the full stream")
	}
	terms := []maskTerm{{key: key}, {key: MaskKey{9}, sub: true}, {key: MaskKey{7}}}
	one := make([]uint32, len(full))
	many := make([]uint32, len(full))
	applyTerms(one, terms, 1)
	applyTerms(many, terms, 7)
	if !slices.Equal(one, many) {
		t.Fatal("parallel mask application differs from serial")
	}
	// Adding then subtracting a mask is the identity.
	applyTerms(one, []maskTerm{{key: key, sub: true}, {key: MaskKey{9}}, {key: MaskKey{7}, sub: true}}, 3)
	for i, v := range one {
		if v != 0 {
			t.Fatalf("element %d = %d after removing every mask", i, v)
		}
	}
}
