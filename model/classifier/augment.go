package classifier

import (
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/internal/config"
)

// AugmentConfig sets the training-time augmentation: a horizontal flip, a
// small random affine (rotation, isotropic scale, translation) resampled
// bilinearly with -1 (black) fill, and additive Gaussian noise.
type AugmentConfig struct {
	// FlipProb is the probability of a horizontal flip.
	FlipProb float64 `toml:"flip_prob" json:"flip_prob"`
	// MaxRotateDeg bounds the rotation, drawn uniformly in +-MaxRotateDeg.
	MaxRotateDeg float64 `toml:"max_rotate_deg" json:"max_rotate_deg"`
	// MaxScale bounds the zoom: the scale is drawn in [1-MaxScale, 1+MaxScale].
	MaxScale float64 `toml:"max_scale" json:"max_scale"`
	// MaxShift bounds the translation as a fraction of the side.
	MaxShift float64 `toml:"max_shift" json:"max_shift"`
	// NoiseStd is the standard deviation of the added noise (pixel range [-1,1]).
	NoiseStd float64 `toml:"noise_std" json:"noise_std"`
}

// DefaultAugmentConfig returns mild augmentation: flips half of the time,
// +-5 degrees, +-5% scale, +-5% shift, noise std 0.02.
func DefaultAugmentConfig() AugmentConfig {
	return AugmentConfig{FlipProb: 0.5, MaxRotateDeg: 5, MaxScale: 0.05, MaxShift: 0.05, NoiseStd: 0.02}
}

// Validate reports every out-of-range field.
func (c AugmentConfig) Validate() error {
	var p config.Problems
	if !(c.FlipProb >= 0 && c.FlipProb <= 1) {
		p.Addf("augment.flip_prob %v: want in [0,1]", c.FlipProb)
	}
	if !(c.MaxRotateDeg >= 0 && c.MaxRotateDeg <= 45) {
		p.Addf("augment.max_rotate_deg %v: want in [0,45]", c.MaxRotateDeg)
	}
	if !(c.MaxScale >= 0 && c.MaxScale < 0.5) {
		p.Addf("augment.max_scale %v: want in [0,0.5)", c.MaxScale)
	}
	if !(c.MaxShift >= 0 && c.MaxShift < 0.5) {
		p.Addf("augment.max_shift %v: want in [0,0.5)", c.MaxShift)
	}
	if !(c.NoiseStd >= 0) {
		p.Addf("augment.noise_std %v: want >= 0", c.NoiseStd)
	}
	return p.Err()
}

// identity reports whether the affine part does nothing.
func (c AugmentConfig) identityAffine() bool {
	return c.MaxRotateDeg == 0 && c.MaxScale == 0 && c.MaxShift == 0
}

// Augment writes an augmented copy of the size x size image src into dst,
// drawing every random choice from r in a fixed order (flip, rotation,
// scale, shift x, shift y, then the noise), so a seeded r reproduces it.
func Augment(dst, src []float32, size int, c AugmentConfig, r *rand.Rand) {
	flip := r.Float64() < c.FlipProb
	theta := (2*r.Float64() - 1) * c.MaxRotateDeg * math.Pi / 180
	scale := 1 + (2*r.Float64()-1)*c.MaxScale
	dx := (2*r.Float64() - 1) * c.MaxShift * float64(size)
	dy := (2*r.Float64() - 1) * c.MaxShift * float64(size)
	if c.identityAffine() {
		copy(dst, src)
		if flip {
			flipRows(dst, size)
		}
	} else {
		affine(dst, src, size, flip, theta, scale, dx, dy)
	}
	if c.NoiseStd > 0 {
		for i := range dst {
			dst[i] += float32(r.NormFloat64() * c.NoiseStd)
		}
	}
}

func flipRows(img []float32, size int) {
	for y := range size {
		row := img[y*size : (y+1)*size]
		for i, j := 0, size-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// affine samples dst(u) = src(A^-1 (u - c - d) + c) bilinearly, where A
// rotates by theta and scales by scale about the centre c, d is the shift,
// and the flip mirrors the source column first. Outside pixels read -1.
func affine(dst, src []float32, size int, flip bool, theta, scale, dx, dy float64) {
	c := float64(size-1) / 2
	cos, sin := math.Cos(theta)/scale, math.Sin(theta)/scale
	for y := range size {
		for x := range size {
			ux, uy := float64(x)-c-dx, float64(y)-c-dy
			sx := cos*ux + sin*uy + c
			sy := -sin*ux + cos*uy + c
			if flip {
				sx = float64(size-1) - sx
			}
			dst[y*size+x] = bilinear(src, size, sx, sy)
		}
	}
}

func bilinear(src []float32, size int, x, y float64) float32 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	at := func(xi, yi int) float64 {
		if xi < 0 || yi < 0 || xi >= size || yi >= size {
			return -1
		}
		return float64(src[yi*size+xi])
	}
	ix, iy := int(x0), int(y0)
	v := (1-fx)*(1-fy)*at(ix, iy) + fx*(1-fy)*at(ix+1, iy) + (1-fx)*fy*at(ix, iy+1) + fx*fy*at(ix+1, iy+1)
	return float32(v)
}
