package dp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
)

// Sentinel errors of the package.
var (
	// ErrInvalid reports an invalid argument or configuration.
	ErrInvalid = errors.New("invalid privacy parameters")
	// ErrNonFinite reports a NaN or infinite value in an update.
	ErrNonFinite = errors.New("non-finite value in update")
	// ErrBudgetExceeded reports a task or round that would exceed the
	// site's privacy budget.
	ErrBudgetExceeded = errors.New("privacy budget exceeded")
)

// ClipL2 scales v in place so that its L2 norm is at most bound, and returns
// the norm before clipping. A NaN or infinite element is refused
// (ErrNonFinite) and v is left unchanged.
func ClipL2(v []float32, bound float64) (norm float64, err error) {
	if !(bound > 0) {
		return 0, fmt.Errorf("dp: clip bound %v: %w", bound, ErrInvalid)
	}
	var ss float64
	for _, x := range v {
		f := float64(x)
		ss += f * f
	}
	// Squares of finite float32 values cannot overflow a float64 sum, so the
	// sum is finite exactly when every element is: look for the culprit
	// only then.
	if math.IsNaN(ss) || math.IsInf(ss, 0) {
		for i, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("dp: element %d is %v: %w", i, x, ErrNonFinite)
			}
		}
	}
	norm = math.Sqrt(ss)
	if norm > bound {
		// The margin absorbs float32 rounding (relative 2^-24 per element),
		// so the clipped norm never exceeds the bound.
		s := bound / norm * (1 - 1.0/(1<<22))
		for i := range v {
			v[i] = float32(float64(v[i]) * s)
		}
	}
	return norm, nil
}

// Noise draws Gaussian noise from a ChaCha8 generator. NewNoise seeds it
// from crypto/rand; tests use NewSeededNoise. It is not safe for
// concurrent use.
type Noise struct{ rng *mrand.Rand }

// NewNoise returns a noise source seeded from crypto/rand.
func NewNoise() (*Noise, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("dp: seeding noise: %w", err)
	}
	return &Noise{rng: mrand.New(mrand.NewChaCha8(seed))}, nil
}

// NewSeededNoise returns a reproducible noise source, for tests only.
func NewSeededNoise(seed [32]byte) *Noise { return &Noise{rng: mrand.New(mrand.NewChaCha8(seed))} }

// AddNoise adds N(0, sigma^2) independently to every element of v.
func (n *Noise) AddNoise(v []float32, sigma float64) error {
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return fmt.Errorf("dp: noise sigma %v: %w", sigma, ErrInvalid)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) + sigma*n.rng.NormFloat64())
	}
	return nil
}
