package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/synthfed/synthfed/model"
)

// CI is a bootstrap percentile interval with the estimate on the full data.
type CI struct {
	// Estimate is the statistic on the original rows.
	Estimate float64 `json:"estimate"`
	// Lo and Hi are the (1-level)/2 and (1+level)/2 quantiles of the
	// statistic over the valid resamples (R's quantile type 7).
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Valid counts the resamples in which the statistic was defined (both
	// classes drawn); the others are skipped.
	Valid int `json:"valid"`
}

// PairCI is the interval of the difference of two score sets' macro AUROCs.
type PairCI struct {
	// A and B index the score sets; the statistic is macro(A) - macro(B).
	A int `json:"a"`
	B int `json:"b"`
	// CI is the interval of the difference.
	CI CI `json:"ci"`
}

// BootstrapResult holds percentile intervals from one set of resamples
// shared by every score set, so that differences are paired.
type BootstrapResult struct {
	// Config is the configuration used.
	Config BootstrapConfig `json:"config"`
	// Clusters is the number of patients resampled.
	Clusters int `json:"clusters"`
	// Macro holds each score set's macro-mean AUROC interval. In each
	// resample the mean is over the labels with both classes drawn.
	Macro []CI `json:"macro"`
	// Labels holds Labels[set][label], the per-label intervals.
	Labels [][]CI `json:"labels"`
	// Diffs holds the macro difference of every pair A < B.
	Diffs []PairCI `json:"diffs"`
}

// Bootstrap computes percentile confidence intervals of each score set's
// per-label and macro AUROC, and of every pairwise macro difference, by
// resampling patients with replacement: each resample draws as many patients
// as the test set has, uniformly with a PCG generator seeded from cfg.Seed,
// and every row of a drawn patient enters with the patient's multiplicity.
// Rows without a patient ID are their own patient, so with no IDs this is
// the ordinary (unstratified) row bootstrap of pROC's
// ci.auc(boot.stratified = FALSE).
func Bootstrap(ctx context.Context, ts *TestSet, sets []Scores, cfg BootstrapConfig) (*BootstrapResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bp, err := prepareBootstrap(ts, sets)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eedb007))
	counts := make([]float64, bp.nclusters)
	draw := func(_ int, w []float64) {
		clear(counts)
		for range bp.nclusters {
			counts[rng.IntN(bp.nclusters)]++
		}
		for r, c := range bp.cluster {
			w[r] = counts[c]
		}
	}
	return bp.run(ctx, cfg, draw)
}

// BootstrapAUROC is Bootstrap for one score vector on one label; patients
// may be nil.
func BootstrapAUROC(ctx context.Context, scores []float64, labels []model.Label, patients []string, cfg BootstrapConfig) (CI, error) {
	res, err := Bootstrap(ctx, BinaryTestSet("label", labels, patients), []Scores{{scores}}, cfg)
	if err != nil {
		return CI{}, err
	}
	return res.Labels[0][0], nil
}

// bootPrep is the sorted form of every score set and the patient clusters.
type bootPrep struct {
	ts        *TestSet
	bins      [][]*binary // [set][label]
	cluster   []int       // per row
	nclusters int
	macro     []*Macro // point estimates per set
}

func prepareBootstrap(ts *TestSet, sets []Scores) (*bootPrep, error) {
	if len(sets) == 0 {
		return nil, fmt.Errorf("bootstrap: no score sets: %w", ErrEmpty)
	}
	bp := &bootPrep{ts: ts, bins: make([][]*binary, len(sets)), macro: make([]*Macro, len(sets))}
	for s, sc := range sets {
		m, err := MacroAUROC(ts, sc)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: score set %d: %w", s, err)
		}
		bp.macro[s] = m
		bp.bins[s] = make([]*binary, len(sc))
		for j := range sc {
			bp.bins[s][j], _ = newBinary(sc[j], ts.Labels[j]) // validated by MacroAUROC
		}
	}
	bp.cluster, bp.nclusters = clusters(ts.Patients, ts.Len())
	return bp, nil
}

// clusters maps rows to patient indices in order of first appearance; an
// empty or missing ID is a patient of its own.
func clusters(patients []string, n int) ([]int, int) {
	out := make([]int, n)
	ids := map[string]int{}
	k := 0
	for r := range out {
		if patients == nil || patients[r] == "" {
			out[r] = k
			k++
			continue
		}
		c, ok := ids[patients[r]]
		if !ok {
			c = k
			ids[patients[r]] = k
			k++
		}
		out[r] = c
	}
	return out, k
}

// run draws cfg.Reps resamples with draw, which fills row weights, and
// collects the percentile intervals.
func (bp *bootPrep) run(ctx context.Context, cfg BootstrapConfig, draw func(rep int, w []float64)) (*BootstrapResult, error) {
	nsets, nlab := len(bp.bins), len(bp.ts.Labels)
	labStats := make([][][]float64, nsets)
	macStats := make([][]float64, nsets)
	for s := range labStats {
		labStats[s] = make([][]float64, nlab)
	}
	var pairs [][2]int
	for a := range nsets {
		for b := a + 1; b < nsets; b++ {
			pairs = append(pairs, [2]int{a, b})
		}
	}
	diffStats := make([][]float64, len(pairs))
	w := make([]float64, bp.ts.Len())
	mac := make([]float64, nsets)
	for rep := range cfg.Reps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bootstrap stopped at resample %d: %w", rep, err)
		}
		draw(rep, w)
		ok := bp.resample(w, labStats, mac)
		if !ok {
			continue
		}
		for s := range nsets {
			macStats[s] = append(macStats[s], mac[s])
		}
		for p, ab := range pairs {
			diffStats[p] = append(diffStats[p], mac[ab[0]]-mac[ab[1]])
		}
	}
	return bp.collect(cfg, labStats, macStats, pairs, diffStats), nil
}

// resample appends every defined per-label AUROC under weights w and sets
// each set's macro mean; it reports whether any label was defined.
func (bp *bootPrep) resample(w []float64, labStats [][][]float64, mac []float64) bool {
	defined := false
	for s, bins := range bp.bins {
		var sum float64
		k := 0
		for j, b := range bins {
			auc, ok := b.weightedAUC(w)
			if !ok {
				continue
			}
			labStats[s][j] = append(labStats[s][j], auc)
			sum += auc
			k++
		}
		mac[s] = sum / float64(k)
		// Which labels are defined depends on the weights only, so k is the
		// same for every set.
		defined = k > 0
	}
	return defined
}

func (bp *bootPrep) collect(cfg BootstrapConfig, labStats [][][]float64, macStats [][]float64, pairs [][2]int, diffStats [][]float64) *BootstrapResult {
	res := &BootstrapResult{Config: cfg, Clusters: bp.nclusters}
	for s := range bp.bins {
		res.Macro = append(res.Macro, percentileCI(bp.macro[s].Mean, macStats[s], cfg.Level))
		row := make([]CI, len(labStats[s]))
		for j, st := range labStats[s] {
			row[j] = percentileCI(bp.macro[s].Labels[j].AUROC, st, cfg.Level)
		}
		res.Labels = append(res.Labels, row)
	}
	for p, ab := range pairs {
		est := bp.macro[ab[0]].Mean - bp.macro[ab[1]].Mean
		res.Diffs = append(res.Diffs, PairCI{A: ab[0], B: ab[1], CI: percentileCI(est, diffStats[p], cfg.Level)})
	}
	return res
}

// weightedAUC is the AUROC with row multiplicities w (indexed by original
// row), in one pass over the presorted scores. It reports false when a class
// has zero weight.
func (b *binary) weightedAUC(w []float64) (float64, bool) {
	var negBelow, num, wp float64
	for g := 0; g+1 < len(b.groups); g++ {
		var gp, gn float64
		for k := b.groups[g]; k < b.groups[g+1]; k++ {
			if b.pos[k] {
				gp += w[b.rows[k]]
			} else {
				gn += w[b.rows[k]]
			}
		}
		num += gp * (negBelow + gn/2)
		negBelow += gn
		wp += gp
	}
	if wp == 0 || negBelow == 0 {
		return math.NaN(), false
	}
	return num / (wp * negBelow), true
}

// percentileCI sorts stats and returns the level interval around est.
func percentileCI(est float64, stats []float64, level float64) CI {
	ci := CI{Estimate: est, Lo: math.NaN(), Hi: math.NaN(), Valid: len(stats)}
	if len(stats) == 0 {
		return ci
	}
	slices.Sort(stats)
	ci.Lo = Quantile(stats, (1-level)/2)
	ci.Hi = Quantile(stats, (1+level)/2)
	return ci
}

// Quantile returns the p-quantile of sorted values by linear interpolation
// between order statistics (Hyndman & Fan type 7, R's and NumPy's default).
// sorted must be ascending and non-empty.
func Quantile(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	if lo < 0 {
		return sorted[0]
	}
	f := h - float64(lo)
	if f == 0 || sorted[lo+1] == sorted[lo] {
		return sorted[lo]
	}
	return (1-f)*sorted[lo] + f*sorted[lo+1]
}
