package eval

import (
	"fmt"
	"math"
	"slices"
)

// Site fidelity: does a generator render the site it was asked for? A
// site-conditioned DDPM (E5) is meant to draw a site's rows "as acquired at"
// another site. AcquisitionFeatures describes how an image was acquired
// (exposure, contrast curve, noise and sharpness, collimation, corner
// markers) rather than what it shows; a nearest-centroid SiteClassifier
// fitted on the sites' real training images then names the site an image
// looks acquired at, and SiteFidelity is the share of images it assigns to
// the intended site. Real test images give the reference; chance is one
// over the number of sites.

// NumAcquisitionFeatures is the length of AcquisitionFeatures' result.
const NumAcquisitionFeatures = 13

// AcquisitionFeatures returns descriptors of how one size x size image
// (values in [-1, 1], row-major) was acquired: intensity mean, standard
// deviation and quantiles (5, 25, 50, 75, 95%), mean absolute Laplacian
// (noise and edge enhancement), the mean of the outer ring of pixels minus
// the mean inside it (collimation), and the four corner means minus the
// image mean (markers). It returns nil when img does not hold size*size
// values or size < 4.
func AcquisitionFeatures(img []float32, size int) []float64 {
	if size < 4 || len(img) != size*size {
		return nil
	}
	f := make([]float64, 0, NumAcquisitionFeatures)
	var sum, sq float64
	for _, v := range img {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(img))
	mean := sum / n
	f = append(f, mean, math.Sqrt(math.Max(0, sq/n-mean*mean)))
	sorted := make([]float64, len(img))
	for i, v := range img {
		sorted[i] = float64(v)
	}
	slices.Sort(sorted)
	for _, q := range []float64{0.05, 0.25, 0.5, 0.75, 0.95} {
		f = append(f, sorted[int(q*float64(len(sorted)-1))])
	}
	var lap float64
	for y := 1; y < size-1; y++ {
		for x := 1; x < size-1; x++ {
			c := 4*img[y*size+x] - img[(y-1)*size+x] - img[(y+1)*size+x] - img[y*size+x-1] - img[y*size+x+1]
			lap += math.Abs(float64(c))
		}
	}
	f = append(f, lap/float64((size-2)*(size-2)))
	var ring, inner float64
	for y := range size {
		for x := range size {
			if y == 0 || x == 0 || y == size-1 || x == size-1 {
				ring += float64(img[y*size+x])
			} else {
				inner += float64(img[y*size+x])
			}
		}
	}
	f = append(f, ring/float64(4*size-4)-inner/float64((size-2)*(size-2)))
	c := max(2, size/4)
	for _, o := range [][2]int{{0, 0}, {0, size - c}, {size - c, 0}, {size - c, size - c}} {
		var s float64
		for y := o[0]; y < o[0]+c; y++ {
			for x := o[1]; x < o[1]+c; x++ {
				s += float64(img[y*size+x])
			}
		}
		f = append(f, s/float64(c*c)-mean)
	}
	return f
}

// SiteClassifier names the site an image looks acquired at: the nearest
// site centroid of its features, each feature standardised by the fitting
// set's mean and standard deviation.
type SiteClassifier struct {
	mean, scale []float64
	centroids   [][]float64
}

// FitSiteClassifier fits the centroids of numSites sites from features
// (one row per image, all of one length) and each image's site index. Every
// site needs at least one image.
func FitSiteClassifier(features [][]float64, sites []int, numSites int) (*SiteClassifier, error) {
	switch {
	case len(features) == 0:
		return nil, fmt.Errorf("eval: site classifier: %w", ErrEmpty)
	case len(features) != len(sites):
		return nil, fmt.Errorf("eval: site classifier: %d feature rows for %d sites: %w", len(features), len(sites), ErrLength)
	case numSites < 2:
		return nil, fmt.Errorf("eval: site classifier: %d sites, want at least 2: %w", numSites, ErrTooFew)
	}
	d := len(features[0])
	c := &SiteClassifier{mean: make([]float64, d), scale: make([]float64, d), centroids: make([][]float64, numSites)}
	for i, f := range features {
		if len(f) != d {
			return nil, fmt.Errorf("eval: site classifier: row %d has %d features, want %d: %w", i, len(f), d, ErrDimension)
		}
		if sites[i] < 0 || sites[i] >= numSites {
			return nil, fmt.Errorf("eval: site classifier: row %d has site %d, want 0..%d: %w", i, sites[i], numSites-1, ErrLabel)
		}
		for j, v := range f {
			c.mean[j] += v
			c.scale[j] += v * v
		}
	}
	n := float64(len(features))
	for j := range c.mean {
		c.mean[j] /= n
		sd := math.Sqrt(math.Max(0, c.scale[j]/n-c.mean[j]*c.mean[j]))
		c.scale[j] = 1
		if sd > 1e-12 {
			c.scale[j] = 1 / sd
		}
	}
	counts := make([]int, numSites)
	for k := range c.centroids {
		c.centroids[k] = make([]float64, d)
	}
	for i, f := range features {
		k := sites[i]
		counts[k]++
		for j, v := range f {
			c.centroids[k][j] += (v - c.mean[j]) * c.scale[j]
		}
	}
	for k, cnt := range counts {
		if cnt == 0 {
			return nil, fmt.Errorf("eval: site classifier: site %d has no images: %w", k, ErrTooFew)
		}
		for j := range c.centroids[k] {
			c.centroids[k][j] /= float64(cnt)
		}
	}
	return c, nil
}

// Predict returns the index of the site whose centroid is nearest to f, or
// -1 when f has the wrong length.
func (c *SiteClassifier) Predict(f []float64) int {
	if len(f) != len(c.mean) {
		return -1
	}
	best, bestD := -1, math.Inf(1)
	for k, cen := range c.centroids {
		var d float64
		for j, v := range f {
			z := (v-c.mean[j])*c.scale[j] - cen[j]
			d += z * z
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// SiteFidelity returns the share of images (feature rows) that the
// classifier assigns to their intended site.
func (c *SiteClassifier) SiteFidelity(features [][]float64, intended []int) (float64, error) {
	if len(features) == 0 {
		return 0, fmt.Errorf("eval: site fidelity: %w", ErrEmpty)
	}
	if len(features) != len(intended) {
		return 0, fmt.Errorf("eval: site fidelity: %d feature rows for %d intended sites: %w", len(features), len(intended), ErrLength)
	}
	hit := 0
	for i, f := range features {
		if c.Predict(f) == intended[i] {
			hit++
		}
	}
	return float64(hit) / float64(len(features)), nil
}
