package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/synthfed/synthfed/model"
)

// MacroStat is one statistic of a stratified bootstrap: the macro-mean
// AUROC of one score set on the union of some strata (for example a
// site's classifier on the other sites' test sets pooled).
type MacroStat struct {
	// Strata indexes the test sets whose rows, concatenated in this order,
	// the statistic is computed on.
	Strata []int
	// Scores holds the model's scores on those concatenated rows.
	Scores Scores
}

// Derived is a statistic computed from the MacroStats' values, for example
// a difference of two of them or a mean over sites.
type Derived func(stats []float64) float64

// StrataResult holds the intervals of a stratified bootstrap.
type StrataResult struct {
	// Stats holds one interval per MacroStat, in order.
	Stats []CI `json:"stats"`
	// Derived holds one interval per Derived statistic, in order; its
	// estimate is the function of the full-data estimates.
	Derived []CI `json:"derived"`
	// Clusters counts the patients resampled in each stratum.
	Clusters []int `json:"clusters"`
}

// StratifiedBootstrap computes percentile intervals of several macro AUROCs
// that share test rows, and of statistics derived from them, on one set of
// resamples. Each stratum (an independent test set: one site's) has its
// patients resampled with replacement on its own, as many as it has; a
// statistic on several strata sees each stratum's draw. Every statistic is
// computed on the same draws, so differences between statistics on shared
// rows are paired and a site average keeps the sites' correlations. A
// resample in which some statistic has no label with both classes drawn is
// skipped for all of them.
func StratifiedBootstrap(ctx context.Context, strata []*TestSet, stats []MacroStat, derived []Derived, cfg BootstrapConfig) (*StrataResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(stats) == 0 {
		return nil, fmt.Errorf("stratified bootstrap: no statistics: %w", ErrEmpty)
	}
	sp, err := prepareStrata(strata, stats)
	if err != nil {
		return nil, err
	}
	vals, ok, err := sp.run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	statDraws := make([][]float64, len(stats))
	derivedDraws := make([][]float64, len(derived))
	for rep := range cfg.Reps {
		if !ok[rep] {
			continue
		}
		for i, v := range vals[rep] {
			statDraws[i] = append(statDraws[i], v)
		}
		for i, f := range derived {
			derivedDraws[i] = append(derivedDraws[i], f(vals[rep]))
		}
	}
	res := &StrataResult{Clusters: sp.nclusters}
	for i := range stats {
		res.Stats = append(res.Stats, percentileCI(sp.estimates[i], statDraws[i], cfg.Level))
	}
	for i, f := range derived {
		res.Derived = append(res.Derived, percentileCI(f(sp.estimates), derivedDraws[i], cfg.Level))
	}
	return res, nil
}

// strataPrep is the sorted form of every statistic over global row indices
// (stratum offset + row), and each stratum's patient clusters.
type strataPrep struct {
	rows      int
	offsets   []int
	clusters  [][]int // per stratum, per row
	nclusters []int
	bins      [][]*binary // [stat][label], rows as global indices
	estimates []float64
	counts    []float64
}

func prepareStrata(strata []*TestSet, stats []MacroStat) (*strataPrep, error) {
	sp := &strataPrep{}
	for s, ts := range strata {
		if ts == nil || ts.Len() == 0 {
			return nil, fmt.Errorf("stratified bootstrap: stratum %d is empty: %w", s, ErrEmpty)
		}
		if !slices.Equal(ts.Names, strata[0].Names) {
			return nil, fmt.Errorf("stratified bootstrap: stratum %d labels %v differ from stratum 0's %v: %w", s, ts.Names, strata[0].Names, ErrLength)
		}
		sp.offsets = append(sp.offsets, sp.rows)
		cl, n := clusters(ts.Patients, ts.Len())
		sp.clusters, sp.nclusters = append(sp.clusters, cl), append(sp.nclusters, n)
		sp.rows += ts.Len()
	}
	for i, st := range stats {
		ts, global, err := sp.union(strata, st.Strata)
		if err != nil {
			return nil, fmt.Errorf("stratified bootstrap: statistic %d: %w", i, err)
		}
		m, err := MacroAUROC(ts, st.Scores)
		if err != nil {
			return nil, fmt.Errorf("stratified bootstrap: statistic %d: %w", i, err)
		}
		sp.estimates = append(sp.estimates, m.Mean)
		bins := make([]*binary, len(st.Scores))
		for j := range st.Scores {
			b, _ := newBinary(st.Scores[j], ts.Labels[j]) // validated by MacroAUROC
			for k, r := range b.rows {
				b.rows[k] = global[r]
			}
			bins[j] = b
		}
		sp.bins = append(sp.bins, bins)
	}
	sp.counts = make([]float64, slices.Max(sp.nclusters))
	return sp, nil
}

// union concatenates the strata idx into one test set and maps its rows to
// global row indices.
func (sp *strataPrep) union(strata []*TestSet, idx []int) (*TestSet, []int, error) {
	if len(idx) == 0 {
		return nil, nil, fmt.Errorf("no strata: %w", ErrEmpty)
	}
	out := &TestSet{Names: strata[0].Names, Labels: make([][]model.Label, len(strata[0].Names))}
	var global []int
	for _, s := range idx {
		if s < 0 || s >= len(strata) {
			return nil, nil, fmt.Errorf("stratum %d of %d: %w", s, len(strata), ErrLength)
		}
		ts := strata[s]
		for j := range out.Labels {
			out.Labels[j] = append(out.Labels[j], ts.Labels[j]...)
		}
		for r := range ts.Len() {
			global = append(global, sp.offsets[s]+r)
		}
	}
	return out, global, nil
}

// run draws cfg.Reps resamples in order from one stream (the stream
// Bootstrap uses: with one stratum, the same resamples) and evaluates them
// on GOMAXPROCS workers; vals[rep] holds resample rep's statistics and
// ok[rep] whether every one was defined. The result does not depend on
// the number of workers.
func (sp *strataPrep) run(ctx context.Context, cfg BootstrapConfig) ([][]float64, []bool, error) {
	nstats := len(sp.bins)
	vals, ok := make([][]float64, cfg.Reps), make([]bool, cfg.Reps)
	flat := make([]float64, cfg.Reps*nstats)
	for rep := range vals {
		vals[rep] = flat[rep*nstats : (rep+1)*nstats]
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	type drawn struct {
		rep int
		w   []float64
	}
	jobs, free := make(chan drawn, workers), make(chan []float64, 2*workers)
	for range 2 * workers {
		free <- make([]float64, sp.rows)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				ok[d.rep] = sp.evaluate(d.w, vals[d.rep])
				free <- d.w
			}
		}()
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eedb007))
	var err error
	for rep := range cfg.Reps {
		if err = ctx.Err(); err != nil {
			err = fmt.Errorf("stratified bootstrap stopped at resample %d: %w", rep, err)
			break
		}
		w := <-free
		sp.draw(rng, w)
		jobs <- drawn{rep, w}
	}
	close(jobs)
	wg.Wait()
	return vals, ok, err
}

// draw fills w with each row's multiplicity: every stratum's patients drawn
// with replacement, as many as the stratum has.
func (sp *strataPrep) draw(rng *rand.Rand, w []float64) {
	for s, cl := range sp.clusters {
		n := sp.nclusters[s]
		counts := sp.counts[:n]
		clear(counts)
		for range n {
			counts[rng.IntN(n)]++
		}
		off := sp.offsets[s]
		for r, c := range cl {
			w[off+r] = counts[c]
		}
	}
}

// evaluate sets each statistic's macro AUROC under weights w and reports
// whether every statistic was defined.
func (sp *strataPrep) evaluate(w []float64, vals []float64) bool {
	for i, bins := range sp.bins {
		var sum float64
		k := 0
		for _, b := range bins {
			if auc, ok := b.weightedAUC(w); ok {
				sum += auc
				k++
			}
		}
		if k == 0 {
			return false
		}
		vals[i] = sum / float64(k)
	}
	return true
}
