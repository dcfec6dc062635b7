package study

import (
	"time"

	"github.com/synthfed/synthfed/model"
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
// generator, as a sample job drew them at the site (siteagent.ReplicaSeed:
// one seed per job seed, site, row and replica, the same for every
// generator, so generators are compared on the same noise). Replica r of
// row i has the row's condition and labels; Set holds them replica-major (replica r at rows r*Rows to
// (r+1)*Rows-1), so level L% is the prefix of L/100 replicas and lower
// levels are nested in higher ones.
type Replicas struct {
	Generator string
	Site      string
	Rows      int
	Replicas  int
	Set       *model.ImageSet
	// SiteConditions holds each image's site condition as the manifest
	// recorded it (nil for a generator without sites).
	SiteConditions []string
}

// Level returns the replicas of level pct (a multiple of 100), sharing
// Set's memory.
func (r *Replicas) Level(pct int) *model.ImageSet {
	k := min(pct/100, r.Replicas)
	n := k * r.Rows
	px := r.Set.Size * r.Set.Size
	return &model.ImageSet{Size: r.Set.Size, Pixels: r.Set.Pixels[:n*px], Cond: r.Set.Cond[:n], Labels: r.Set.Labels[:n], Synthetic: r.Set.Synthetic[:n]}
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
