package eval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"
)

// checkFeatures validates a feature matrix: at least min rows, one
// dimension, finite values. It returns the dimension.
func checkFeatures(name string, x [][]float32, min int) (int, error) {
	if len(x) < min {
		return 0, fmt.Errorf("%s features: %d rows, need %d: %w", name, len(x), min, ErrTooFew)
	}
	d := len(x[0])
	if d == 0 {
		return 0, fmt.Errorf("%s features: dimension 0: %w", name, ErrDimension)
	}
	for i, row := range x {
		if len(row) != d {
			return 0, fmt.Errorf("%s features: row %d has dimension %d, want %d: %w", name, i, len(row), d, ErrDimension)
		}
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return 0, fmt.Errorf("%s features: row %d column %d: %v: %w", name, i, j, v, ErrNonFinite)
			}
		}
	}
	return d, nil
}

// checkPair validates two feature matrices of the same dimension.
func checkPair(an string, a [][]float32, amin int, bn string, b [][]float32, bmin int) error {
	da, err := checkFeatures(an, a, amin)
	if err != nil {
		return err
	}
	db, err := checkFeatures(bn, b, bmin)
	if err != nil {
		return err
	}
	if da != db {
		return fmt.Errorf("%s dimension %d, %s dimension %d: %w", an, da, bn, db, ErrDimension)
	}
	return nil
}

// sqDist returns the squared Euclidean distance, accumulated in float64.
func sqDist(a, b []float32) float64 {
	var s float64
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return s
}

// sqDistBelow returns the squared distance, or any value > bound as soon as
// the partial sum exceeds bound (partial-distance search).
func sqDistBelow(a, b []float32, bound float64) float64 {
	var s float64
	for lo := 0; lo < len(a); lo += 64 {
		hi := min(lo+64, len(a))
		for i := lo; i < hi; i++ {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		if s > bound {
			return s
		}
	}
	return s
}

// parallelRows calls f(i) for i in [0, n) on GOMAXPROCS goroutines, stopping
// early when ctx is cancelled. f must only write to index i of its outputs.
func parallelRows(ctx context.Context, n int, f func(i int)) error {
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	g, ctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < n; i += workers {
				if i%64 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				f(i)
			}
			return nil
		})
	}
	return g.Wait()
}

// nearest returns, for every query, the index of and Euclidean distance to
// its nearest base row, skipping pairs for which skip returns true (skip may
// be nil). A query with every pair skipped gets index -1 and distance +Inf.
func nearest(ctx context.Context, queries, base [][]float32, skip func(q, b int) bool) ([]int, []float64, error) {
	idx := make([]int, len(queries))
	dist := make([]float64, len(queries))
	err := parallelRows(ctx, len(queries), func(q int) {
		best, bi := math.Inf(1), -1
		for b, row := range base {
			if skip != nil && skip(q, b) {
				continue
			}
			if d := sqDistBelow(queries[q], row, best); d < best {
				best, bi = d, b
			}
		}
		idx[q], dist[q] = bi, math.Sqrt(best)
	})
	return idx, dist, err
}

// kthNeighbourSq returns, for every row of x, the squared Euclidean
// distance to its k-th nearest other row (k >= 1, len(x) > k).
func kthNeighbourSq(ctx context.Context, x [][]float32, k int) ([]float64, error) {
	radii := make([]float64, len(x))
	err := parallelRows(ctx, len(x), func(i int) {
		// best holds the k smallest squared distances so far, ascending.
		best := make([]float64, 0, k+1)
		for j, row := range x {
			if j == i {
				continue
			}
			bound := math.Inf(1)
			if len(best) == k {
				bound = best[k-1]
			}
			d := sqDistBelow(x[i], row, bound)
			if d >= bound {
				continue
			}
			pos, _ := slices.BinarySearch(best, d)
			best = slices.Insert(best, pos, d)
			if len(best) > k {
				best = best[:k]
			}
		}
		radii[i] = best[k-1]
	})
	return radii, err
}
