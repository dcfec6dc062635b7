package eval

import (
	"context"
	"fmt"
	"math"
)

// PR is the k-NN manifold precision and recall of a synthetic feature set
// against a real one.
type PR struct {
	// Precision is the share of synthetic rows inside the real manifold:
	// how many generated images look real.
	Precision float64 `json:"precision"`
	// Recall is the share of real rows inside the synthetic manifold: how
	// much of the real variety the generator covers.
	Recall float64 `json:"recall"`
	// K is the neighbourhood size used.
	K int `json:"k"`
	// Real and Synthetic count the rows of each set.
	Real      int `json:"real"`
	Synthetic int `json:"synthetic"`
}

// PrecisionRecall computes improved precision and recall (Kynkäänniemi et
// al. 2019). A set's manifold is the union of balls centred on its rows,
// each with radius the Euclidean distance to the row's k-th nearest other
// row of the same set; a point is inside when its distance to some centre is
// at most that centre's radius. Each set needs more than k rows. The cost is
// O((n_real + n_synth)^2 d), spread over GOMAXPROCS goroutines.
func PrecisionRecall(ctx context.Context, real, synth [][]float32, k int) (PR, error) {
	if k < 1 {
		return PR{}, fmt.Errorf("precision/recall: k = %d, want >= 1: %w", k, ErrTooFew)
	}
	if err := checkPair("real", real, k+1, "synthetic", synth, k+1); err != nil {
		return PR{}, fmt.Errorf("precision/recall: %w", err)
	}
	rr, err := kthNeighbourSq(ctx, real, k)
	if err != nil {
		return PR{}, err
	}
	sr, err := kthNeighbourSq(ctx, synth, k)
	if err != nil {
		return PR{}, err
	}
	prec, err := shareInside(ctx, synth, real, rr)
	if err != nil {
		return PR{}, err
	}
	rec, err := shareInside(ctx, real, synth, sr)
	if err != nil {
		return PR{}, err
	}
	return PR{Precision: prec, Recall: rec, K: k, Real: len(real), Synthetic: len(synth)}, nil
}

// shareInside returns the share of queries whose squared distance to some
// centre j is at most sqRadii[j].
func shareInside(ctx context.Context, queries, centres [][]float32, sqRadii []float64) (float64, error) {
	in := make([]bool, len(queries))
	err := parallelRows(ctx, len(queries), func(q int) {
		for j, c := range centres {
			if sqDistBelow(queries[q], c, sqRadii[j]) <= sqRadii[j] {
				in[q] = true
				return
			}
		}
	})
	if err != nil {
		return math.NaN(), err
	}
	k := 0
	for _, v := range in {
		if v {
			k++
		}
	}
	return float64(k) / float64(len(queries)), nil
}
