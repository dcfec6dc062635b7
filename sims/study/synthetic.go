package study

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/ddpm"
)

// Generator is one DDPM whose samples feed the experiments: the federated
// model, or a site's model trained on that site alone.
type Generator struct {
	// Name names it in the results: "federated" or "<site> only".
	Name string
	// Site is the site that trained it alone ("" for the federated one).
	Site string
	// Weights are the sampling weights (the EMA over rounds).
	Weights model.Weights
	// Loss holds the training loss per round; ValLoss the validation loss
	// of each round's model where the sites measured it.
	Loss, ValLoss []float64
}

// Replicas are the synthetic replicas of one site's training rows from one
// generator. Replica r of row i has the row's condition and labels and its
// own seed; Set holds them replica-major (replica r at rows r*Rows to
// (r+1)*Rows-1), so level L% is the prefix of L/100 replicas and lower
// levels are nested in higher ones.
type Replicas struct {
	Generator string
	Site      string
	Rows      int
	Replicas  int
	Set       *model.ImageSet
}

// Level returns the replicas of level pct (a multiple of 100), sharing
// Set's memory.
func (r *Replicas) Level(pct int) *model.ImageSet {
	k := min(pct/100, r.Replicas)
	n := k * r.Rows
	px := r.Set.Size * r.Set.Size
	return &model.ImageSet{Size: r.Set.Size, Pixels: r.Set.Pixels[:n*px], Cond: r.Set.Cond[:n], Labels: r.Set.Labels[:n], Synthetic: r.Set.Synthetic[:n]}
}

// ReplicaSeed is the seed of replica r of training row i at site s: the
// same for every generator, so that generators are compared on the same
// noise.
func ReplicaSeed(base int64, site string, row, replica int) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d/%d", base, site, row, replica)
	return int64(h.Sum64() >> 1)
}

// SampleReplicas draws replicas 0..n-1 of every row of train with g's
// weights, in batches spread over workers goroutines (one sampler each).
// done reports progress after each batch with the images drawn so far.
func SampleReplicas(ctx context.Context, cfg ddpm.Config, g *Generator, site string, train *model.ImageSet, n int, seed int64, workers int, done func(images int)) (*Replicas, error) {
	rows := train.Len()
	total := rows * n
	conds := make([][model.CondDim]float32, total)
	labels := make([][model.NumLabels]model.Label, total)
	seeds := make([]int64, total)
	for r := range n {
		for i := range rows {
			k := r*rows + i
			conds[k], labels[k], seeds[k] = train.Cond[i], train.Labels[i], ReplicaSeed(seed, site, i, r)
		}
	}
	px := train.Size * train.Size
	out := &model.ImageSet{Size: train.Size, Pixels: make([]float32, total*px), Cond: conds, Labels: labels, Synthetic: make([]bool, total)}
	for i := range out.Synthetic {
		out.Synthetic[i] = true
	}
	batch := cfg.Sample.BatchSize
	next := make(chan int)
	var mu sync.Mutex
	drawn := 0
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer close(next)
		for lo := 0; lo < total; lo += batch {
			select {
			case next <- lo:
			case <-ectx.Done():
				return ectx.Err()
			}
		}
		return nil
	})
	for range max(1, workers) {
		eg.Go(func() error {
			s, err := ddpm.NewSampler(cfg, g.Weights)
			if err != nil {
				return err
			}
			for lo := range next {
				hi := min(lo+batch, total)
				img, err := s.Sample(ectx, conds[lo:hi], seeds[lo:hi])
				if err != nil {
					return fmt.Errorf("study: sample %s for %s: %w", g.Name, site, err)
				}
				copy(out.Pixels[lo*px:hi*px], img)
				mu.Lock()
				drawn += hi - lo
				d := drawn
				mu.Unlock()
				if done != nil {
					done(d)
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return &Replicas{Generator: g.Name, Site: site, Rows: rows, Replicas: n, Set: out}, nil
}

// MixOthers returns, for site index self, level pct of synthetic images
// drawn from the other sites' replicas: replica 0 of each other site in
// turn, then replica 1, and so on, cut at pct/100 times self's row count.
func MixOthers(pools []*Replicas, self, pct int) *model.ImageSet {
	want := pct / 100 * pools[self].Rows
	var idx [][2]int // (pool, row)
	for r := 0; len(idx) < want; r++ {
		added := false
		for j, p := range pools {
			if j == self || r >= p.Replicas {
				continue
			}
			for i := range p.Rows {
				if len(idx) == want {
					break
				}
				idx = append(idx, [2]int{j, r*p.Rows + i})
				added = true
			}
		}
		if !added {
			break
		}
	}
	out := &model.ImageSet{Size: pools[self].Set.Size}
	for _, k := range idx {
		s := pools[k[0]].Set
		out.Pixels = append(out.Pixels, s.Image(k[1])...)
		out.Cond = append(out.Cond, s.Cond[k[1]])
		out.Labels = append(out.Labels, s.Labels[k[1]])
		out.Synthetic = append(out.Synthetic, true)
	}
	return out
}

// rate is images per second over d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
