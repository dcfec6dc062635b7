package logreg

import (
	"math"
	"math/rand/v2"
)

// Dataset is a site's generated examples: N rows of Dim features and 0/1 labels.
type Dataset struct {
	Dim int
	X   []float64 // row-major N x Dim
	Y   []float64
}

// Len returns the number of examples.
func (d *Dataset) Len() int { return len(d.Y) }

// Row returns the features of example i (shared, not copied).
func (d *Dataset) Row(i int) []float64 { return d.X[i*d.Dim : (i+1)*d.Dim] }

// truth returns the consortium-wide true weights and bias for seed.
func truth(seed uint64, dim int) ([]float64, float64) {
	r := rand.New(rand.NewPCG(seed, 0x7275746866656421))
	w := make([]float64, dim)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	return w, 0.3 * r.NormFloat64()
}

// siteShift returns the mean shift and feature scale of site for seed.
func siteShift(seed uint64, site, dim int, shift float64) ([]float64, []float64) {
	r := rand.New(rand.NewPCG(seed^0x5348494654, uint64(site)+1))
	mu := make([]float64, dim)
	sc := make([]float64, dim)
	for i := range mu {
		mu[i] = shift * r.NormFloat64()
		sc[i] = math.Exp(0.5 * shift * r.NormFloat64())
	}
	return mu, sc
}

// Generate draws n examples for site: features x = mu_site + sc_site * z with
// z standard normal, labels y ~ Bernoulli(sigmoid(w*.x + b*)). The stream
// argument separates train (0) from validation (1) draws.
func Generate(cfg Config, n int, stream uint64) *Dataset {
	w, b := truth(cfg.DataSeed, cfg.Dim)
	mu, sc := siteShift(cfg.DataSeed, cfg.Site, cfg.Dim, cfg.Shift)
	r := rand.New(rand.NewPCG(cfg.DataSeed+uint64(cfg.Site)*7919, stream+1))
	d := &Dataset{Dim: cfg.Dim, X: make([]float64, n*cfg.Dim), Y: make([]float64, n)}
	for i := 0; i < n; i++ {
		x := d.Row(i)
		logit := b
		for j := range x {
			x[j] = mu[j] + sc[j]*r.NormFloat64()
			logit += w[j] * x[j]
		}
		if r.Float64() < sigmoid(logit) {
			d.Y[i] = 1
		}
	}
	return d
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss is the binary cross-entropy of logit z for label y, computed stably.
func logLoss(z, y float64) float64 {
	// log(1+exp(z)) - y*z
	var sp float64
	if z > 0 {
		sp = z + math.Log1p(math.Exp(-z))
	} else {
		sp = math.Log1p(math.Exp(z))
	}
	return sp - y*z
}
