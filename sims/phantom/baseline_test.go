package phantom

import (
	"context"
	"math"
	"sort"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// TestPhantomIsMeaningful trains a simple baseline (L2-regularised logistic
// regression on 16x16 block means of the 32x32 images, one output per label)
// on one site's training patients and reports macro AUROC on that site's
// held-out patients (internal) and on the other sites (external). The
// phantom must be learnable (internal far above chance) and sites must
// differ as hospitals do (external at least 0.05 lower).
func TestPhantomIsMeaningful(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 3 sites and trains a baseline")
	}
	cfg := smallConfig(32)
	ctx := context.Background()
	const perSite = 1500
	sites := make([]*Site, 3)
	for i := range sites {
		s, err := cfg.RenderSite(ctx, i, perSite)
		if err != nil {
			t.Fatal(err)
		}
		sites[i] = s
	}
	parts, err := dataset.SplitPatients(sites[0].Records, []float64{0.7, 0.3}, 7)
	if err != nil {
		t.Fatal(err)
	}
	inTrain := map[string]bool{}
	for _, r := range parts[0] {
		inTrain[r.PatientID] = true
	}
	var train, test []int
	for i, r := range sites[0].Records {
		if inTrain[r.PatientID] {
			train = append(train, i)
		} else {
			test = append(test, i)
		}
	}
	x0 := features(sites[0].Images)
	mu, sd := standardize(x0, train)
	m := fitLogistic(x0, sites[0].Images.Labels, train, 400, 0.05, 1e-3)

	score := func(s *Site, rows []int, x [][]float64) []float64 {
		return m.macroAUROC(x, s.Images.Labels, rows)
	}
	internal := score(sites[0], test, x0)
	t.Logf("internal (site %s, %d held-out images): macro AUROC %.3f over %d labels", sites[0].Profile.Name, len(test), internal[0], int(internal[1]))
	for i := 1; i < 3; i++ {
		x := features(sites[i].Images)
		applyStandardize(x, mu, sd)
		all := make([]int, sites[i].Images.Len())
		for j := range all {
			all[j] = j
		}
		ext := score(sites[i], all, x)
		t.Logf("external (site %s, %d images): macro AUROC %.3f over %d labels, gap %.3f", sites[i].Profile.Name, len(all), ext[0], int(ext[1]), internal[0]-ext[0])
		if internal[0]-ext[0] < 0.05 {
			t.Errorf("site %s: external AUROC %.3f is not 0.05 below internal %.3f", sites[i].Profile.Name, ext[0], internal[0])
		}
	}
	if internal[0] < 0.7 {
		t.Errorf("internal macro AUROC %.3f: want >= 0.7", internal[0])
	}
}

// features averages 2x2 blocks of each image (32x32 -> 16x16 = 256 features).
func features(set *model.ImageSet) [][]float64 {
	const b = 2
	side := set.Size / b
	out := make([][]float64, set.Len())
	for i := range out {
		img := set.Image(i)
		f := make([]float64, side*side)
		for y := 0; y < set.Size; y++ {
			for x := 0; x < set.Size; x++ {
				f[(y/b)*side+x/b] += float64(img[y*set.Size+x]) / (b * b)
			}
		}
		out[i] = f
	}
	return out
}

func standardize(x [][]float64, rows []int) (mu, sd []float64) {
	d := len(x[0])
	mu, sd = make([]float64, d), make([]float64, d)
	for _, i := range rows {
		for j, v := range x[i] {
			mu[j] += v / float64(len(rows))
		}
	}
	for _, i := range rows {
		for j, v := range x[i] {
			sd[j] += (v - mu[j]) * (v - mu[j]) / float64(len(rows))
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j]) + 1e-6
	}
	applyStandardize(x, mu, sd)
	return mu, sd
}

func applyStandardize(x [][]float64, mu, sd []float64) {
	for _, f := range x {
		for j := range f {
			f[j] = (f[j] - mu[j]) / sd[j]
		}
	}
}

// logistic holds one weight vector and bias per label.
type logisticModel struct {
	w [model.NumLabels][]float64
	b [model.NumLabels]float64
}

// target returns a label's training target, or false for uncertain rows
// (left out of that label's loss); blank counts as negative.
func target(l model.Label) (float64, bool) {
	switch l {
	case model.LabelPositive:
		return 1, true
	case model.LabelUncertain:
		return 0, false
	}
	return 0, true
}

// fitLogistic runs full-batch gradient descent with momentum on the mean
// cross-entropy plus lambda*|w|^2 for each label.
func fitLogistic(x [][]float64, labels [][model.NumLabels]model.Label, rows []int, iters int, lr, lambda float64) *logisticModel {
	d := len(x[0])
	m := &logisticModel{}
	for k := range m.w {
		w := make([]float64, d)
		vel := make([]float64, d+1)
		grad := make([]float64, d+1)
		for it := 0; it < iters; it++ {
			clear(grad)
			n := 0
			for _, i := range rows {
				y, ok := target(labels[i][k])
				if !ok {
					continue
				}
				n++
				z := m.b[k]
				for j, v := range x[i] {
					z += w[j] * v
				}
				e := 1/(1+math.Exp(-z)) - y
				for j, v := range x[i] {
					grad[j] += e * v
				}
				grad[d] += e
			}
			if n == 0 {
				break
			}
			for j := range w {
				g := grad[j]/float64(n) + 2*lambda*w[j]
				vel[j] = 0.9*vel[j] - lr*g
				w[j] += vel[j]
			}
			vel[d] = 0.9*vel[d] - lr*grad[d]/float64(n)
			m.b[k] += vel[d]
		}
		m.w[k] = w
	}
	return m
}

// macroAUROC scores rows and returns the mean AUROC over labels with at
// least 10 positive and 10 negative rows (uncertain rows dropped per label,
// blank counted negative), and the number of such labels.
func (m *logisticModel) macroAUROC(x [][]float64, labels [][model.NumLabels]model.Label, rows []int) []float64 {
	sum, used := 0.0, 0
	for k := range m.w {
		var pos, neg []float64
		for _, i := range rows {
			y, ok := target(labels[i][k])
			if !ok {
				continue
			}
			z := m.b[k]
			for j, v := range x[i] {
				z += m.w[k][j] * v
			}
			if y == 1 {
				pos = append(pos, z)
			} else {
				neg = append(neg, z)
			}
		}
		if len(pos) < 10 || len(neg) < 10 {
			continue
		}
		sum += auroc(pos, neg)
		used++
	}
	return []float64{sum / float64(used), float64(used)}
}

// auroc is the Mann-Whitney estimate: the share of (positive, negative)
// pairs ranked correctly, ties counting one half.
func auroc(pos, neg []float64) float64 {
	type item struct {
		s   float64
		pos bool
	}
	all := make([]item, 0, len(pos)+len(neg))
	for _, s := range pos {
		all = append(all, item{s, true})
	}
	for _, s := range neg {
		all = append(all, item{s, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	rankSum := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += mid
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

func TestAUROCHelper(t *testing.T) {
	tests := []struct {
		pos, neg []float64
		want     float64
	}{
		{[]float64{3, 4}, []float64{1, 2}, 1},
		{[]float64{1, 2}, []float64{3, 4}, 0},
		{[]float64{1, 3}, []float64{2, 4}, 0.25},
		{[]float64{2}, []float64{2}, 0.5},
	}
	for _, tc := range tests {
		if got := auroc(tc.pos, tc.neg); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("auroc(%v, %v) = %g, want %g", tc.pos, tc.neg, got, tc.want)
		}
	}
}
