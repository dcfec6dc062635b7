package dataset

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
)

// ErrSplit marks invalid split fractions.
var ErrSplit = errors.New("invalid split")

// SplitPatients partitions recs into len(fractions) parts at the patient
// level (every record of a patient lands in one part) and stratified by
// label: each part gets about its fraction of the records and of the
// positives of every label. It applies iterative stratification (Sechidis,
// Tsoumakas and Vlahavas 2011) to patients: the rarest label's patients are
// placed first, each into the part that still lacks the most of that label,
// ties going to the part that lacks the most records, then to a seeded
// random choice. Fractions must be positive and sum to 1. Records keep their
// order within each part. The same seed gives the same split.
func SplitPatients(recs []Record, fractions []float64, seed uint64) ([][]Record, error) {
	if err := checkFractions(fractions); err != nil {
		return nil, err
	}
	pats, order := groupPatients(recs)
	rng := rand.New(rand.NewPCG(seed, 0x5eed5eed5eed5eed))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	k := len(fractions)
	wantN, wantL := demand(pats, order, fractions)
	assign := make(map[string]int, len(order))
	place := func(id string, label int) {
		p := pats[id]
		best := -1
		for s := 0; s < k; s++ {
			if best < 0 || better(s, best, label, wantL, wantN, rng) {
				best = s
			}
		}
		assign[id] = best
		wantN[best] -= p.weight
		for j := range p.pos {
			wantL[best][j] -= p.pos[j]
		}
	}
	for {
		label := rarestRemaining(order, pats, assign)
		if label < 0 {
			break
		}
		for _, id := range order {
			if _, done := assign[id]; !done && pats[id].pos[label] > 0 {
				place(id, label)
			}
		}
	}
	for _, id := range order {
		if _, done := assign[id]; !done {
			place(id, -1)
		}
	}
	parts := make([][]Record, k)
	for _, r := range recs {
		s := assign[r.PatientID]
		parts[s] = append(parts[s], r)
	}
	return parts, nil
}

// demand returns how many records, and how many positives of each label,
// each part should receive.
func demand(pats map[string]*patientGroup, order []string, fractions []float64) ([]float64, [][model.NumLabels]float64) {
	var total float64
	var positives [model.NumLabels]float64
	for _, id := range order {
		p := pats[id]
		total += p.weight
		for j := range positives {
			positives[j] += p.pos[j]
		}
	}
	wantN := make([]float64, len(fractions))
	wantL := make([][model.NumLabels]float64, len(fractions))
	for s, f := range fractions {
		wantN[s] = f * total
		for j := range positives {
			wantL[s][j] = f * positives[j]
		}
	}
	return wantN, wantL
}

// better reports whether part a should receive the next patient before b.
func better(a, b, label int, wantL [][model.NumLabels]float64, wantN []float64, rng *rand.Rand) bool {
	if label >= 0 && wantL[a][label] != wantL[b][label] {
		return wantL[a][label] > wantL[b][label]
	}
	if wantN[a] != wantN[b] {
		return wantN[a] > wantN[b]
	}
	return rng.IntN(2) == 0
}

// rarestRemaining returns the label with the fewest unassigned positive
// patients (at least one), or -1.
func rarestRemaining(order []string, pats map[string]*patientGroup, assign map[string]int) int {
	var count [model.NumLabels]int
	for _, id := range order {
		if _, done := assign[id]; done {
			continue
		}
		for j, v := range pats[id].pos {
			if v > 0 {
				count[j]++
			}
		}
	}
	best := -1
	for j, c := range count {
		if c > 0 && (best < 0 || c < count[best]) {
			best = j
		}
	}
	return best
}

// patientGroup is one patient's record count and positives per label.
type patientGroup struct {
	weight float64
	pos    [model.NumLabels]float64
}

func groupPatients(recs []Record) (map[string]*patientGroup, []string) {
	pats := make(map[string]*patientGroup)
	var order []string
	for _, r := range recs {
		p, ok := pats[r.PatientID]
		if !ok {
			p = &patientGroup{}
			pats[r.PatientID] = p
			order = append(order, r.PatientID)
		}
		p.weight++
		for j, l := range r.Labels {
			if l == model.LabelPositive {
				p.pos[j]++
			}
		}
	}
	return pats, order
}

func checkFractions(f []float64) error {
	if len(f) == 0 {
		return fmt.Errorf("no fractions: %w", ErrSplit)
	}
	sum := 0.0
	for _, v := range f {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("fraction %g: want > 0: %w", v, ErrSplit)
		}
		sum += v
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("fractions sum to %g, want 1: %w", sum, ErrSplit)
	}
	return nil
}

// GroupBySplit groups records by their source split (Record.Split), in
// record order; records without one are under "".
func GroupBySplit(recs []Record) map[string][]Record {
	out := make(map[string][]Record)
	for _, r := range recs {
		out[r.Split] = append(out[r.Split], r)
	}
	return out
}

// FrontalOnly returns the frontal records of recs, in order.
func FrontalOnly(recs []Record) []Record {
	var out []Record
	for _, r := range recs {
		if r.View == ViewFrontal {
			out = append(out, r)
		}
	}
	return out
}
