package engine

import (
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// TestCohortSelectionReproducible: cohorts drawn with the job seed, round
// and attempt are the same in two engines.
func TestCohortSelectionReproducible(t *testing.T) {
	pick := func() [][]string {
		h := newHarness(t, Config{})
		spec := testSpec()
		spec.Sites = []string{"a", "b", "c", "d", "e"}
		spec.CohortSize, spec.Quorum, spec.Rounds = 2, 2, 3
		h.join(spec.Sites...)
		h.startJob(spec, initW())
		var out [][]string
		for r := 1; r <= 3; r++ {
			var cohort []string
			for _, s := range spec.Sites {
				if tk, ok := h.tasks[s]; ok && tk.Round == r {
					cohort = append(cohort, s)
				}
			}
			if len(cohort) != 2 {
				t.Fatalf("round %d cohort %v", r, cohort)
			}
			for _, s := range cohort {
				must(t, h.deliver(s, model.MustWeights(vec("w", 1, 1)), 1))
			}
			h.commitLast()
			out = append(out, cohort)
		}
		return out
	}
	a, b := pick(), pick()
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("cohorts differ: %v vs %v", a, b)
		}
	}
}
