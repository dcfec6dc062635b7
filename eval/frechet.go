package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// FrechetDistance returns the Fréchet distance between Gaussians fitted to
// two feature sets (one row per image), the FID formula of Heusel et al.
// 2017 on whatever features are given (here the classifier's penultimate
// layer):
//
//	|mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))
//
// with sample covariances (n-1 denominator). The trace term is computed
// robustly as the sum of square roots of the eigenvalues of the symmetric
// positive semi-definite matrix S1^(1/2) S2 S1^(1/2), which has the same
// eigenvalues as S1 S2; S1^(1/2) comes from a symmetric eigendecomposition
// with negative rounding-error eigenvalues clamped to zero, so rank-deficient
// covariances (fewer images than dimensions) are handled. Each set needs two
// rows; the result is clamped at 0.
func FrechetDistance(real, synth [][]float32) (float64, error) {
	if err := checkPair("real", real, 2, "synthetic", synth, 2); err != nil {
		return math.NaN(), fmt.Errorf("Fréchet distance: %w", err)
	}
	mu1, s1 := meanCov(real)
	mu2, s2 := meanCov(synth)
	root, err := symSqrt(s1)
	if err != nil {
		return math.NaN(), err
	}
	d := s1.SymmetricDim()
	var tmp, prod mat.Dense
	tmp.Mul(root, s2)
	prod.Mul(&tmp, root)
	sym := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (prod.At(i, j)+prod.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return math.NaN(), fmt.Errorf("Fréchet distance: eigendecomposition of %dx%d product failed", d, d)
	}
	var trSqrt float64
	for _, v := range eig.Values(nil) {
		trSqrt += math.Sqrt(math.Max(v, 0))
	}
	var dm float64
	for i := range mu1 {
		dm += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i])
	}
	fd := dm + mat.Trace(s1) + mat.Trace(s2) - 2*trSqrt
	return math.Max(fd, 0), nil
}

// meanCov returns the column means and the sample covariance of x.
func meanCov(x [][]float32) ([]float64, *mat.SymDense) {
	n, d := len(x), len(x[0])
	mu := make([]float64, d)
	for _, row := range x {
		for j, v := range row {
			mu[j] += float64(v)
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	c := mat.NewDense(n, d, nil)
	for i, row := range x {
		for j, v := range row {
			c.Set(i, j, float64(v)-mu[j])
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(n-1), c.T())
	return mu, cov
}

// symSqrt returns the principal square root of a symmetric positive
// semi-definite matrix, clamping negative eigenvalues to zero.
func symSqrt(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("Fréchet distance: eigendecomposition of %dx%d covariance failed", s.SymmetricDim(), s.SymmetricDim())
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	for j, l := range vals {
		r := math.Sqrt(math.Max(l, 0))
		for i := range d {
			scaled.Set(i, j, v.At(i, j)*r)
		}
	}
	var root mat.Dense
	root.Mul(scaled, v.T())
	return &root, nil
}
