package secagg

import (
	"fmt"
	"math"
)

// Input is one site's contribution to a round. Values are already multiplied
// by the pre-scaled weight and Weight is that pre-scaled weight in [0, 1]
// (see PreScale); the weight travels as one extra element so that the
// aggregator learns only the weighted sum and the sum of weights.
type Input struct {
	// Values holds Params.Length pre-scaled model elements.
	Values []float32
	// Weight is the pre-scaled weight in [0, 1].
	Weight float64
}

// PreScale returns the Input for an update with a raw weight (for example
// its sample count): the values are copied and multiplied by
// weight/MaxWeight, which must lie in (0, 1]. Differential-privacy noise, if
// any, is added to the returned Values afterwards (see crypto/dp).
func PreScale(update []float32, weight float64, p Params) (Input, error) {
	w := weight / p.MaxWeight
	if !(w > 0 && w <= 1) || math.IsNaN(weight) {
		return Input{}, fmt.Errorf("secagg: weight %v with max_weight %v: want in (0, max_weight]: %w", weight, p.MaxWeight, ErrBadInput)
	}
	out := make([]float32, len(update))
	for i, v := range update {
		out[i] = float32(float64(v) * w)
	}
	return Input{Values: out, Weight: w}, nil
}

// Encode maps an Input to the ring Z/2^32 for a roster of n sites: each
// element is clipped to [-C, C], multiplied by Scale(n) and rounded to the
// nearest integer; the weight, scaled by WeightScale(n), is the last element.
// It returns the vector (Length+1 elements) and how many were clipped.
func Encode(in Input, p Params, n int) ([]uint32, int, error) {
	if len(in.Values) != p.Length {
		return nil, 0, fmt.Errorf("secagg: input has %d elements, params want %d: %w", len(in.Values), p.Length, ErrBadInput)
	}
	if !(in.Weight >= 0 && in.Weight <= 1) {
		return nil, 0, fmt.Errorf("secagg: pre-scaled weight %v: want in [0, 1]: %w", in.Weight, ErrBadInput)
	}
	out := make([]uint32, p.Length+1)
	s, c := p.Scale(n), p.Clip
	clipped := 0
	vals := out[:len(in.Values)] // lets the compiler drop the bounds checks
	for i, v := range in.Values {
		x := float64(v)
		if !(x >= -c && x <= c) { // rare: clipped or not a number
			switch {
			case math.IsNaN(x) || math.IsInf(x, 0):
				return nil, 0, fmt.Errorf("secagg: element %d is %v: %w", i, v, ErrBadInput)
			case x > c:
				x = c
			default:
				x = -c
			}
			clipped++
		}
		vals[i] = uint32(int32(roundHalfAway(x * s)))
	}
	out[p.Length] = uint32(int32(math.Round(in.Weight * p.WeightScale(n))))
	return out, clipped, nil
}

// roundHalfAway equals math.Round (halves away from zero) but is built on
// math.RoundToEven, which compiles to one instruction on amd64 and arm64:
// the two differ only at exact halves, where t ± 1/2 is exact.
func roundHalfAway(t float64) float64 {
	r := math.RoundToEven(t)
	if d := t - r; d == 0.5 || d == -0.5 {
		return t + math.Copysign(0.5, t)
	}
	return r
}

// DecodeSum maps a ring sum back to reals: the weighted sum of the model
// elements and the sum of the pre-scaled weights. The ring values are read
// as two's-complement int32, which is exact because the scale keeps every
// partial sum of at most n clipped inputs inside the int32 range.
func DecodeSum(ring []uint32, p Params, n int) (sum []float64, weight float64, err error) {
	if len(ring) != p.Length+1 {
		return nil, 0, fmt.Errorf("secagg: ring vector has %d elements, want %d: %w", len(ring), p.Length+1, ErrMalformed)
	}
	s := p.Scale(n)
	sum = make([]float64, p.Length)
	for i := range sum {
		sum[i] = float64(int32(ring[i])) / s
	}
	return sum, float64(int32(ring[p.Length])) / p.WeightScale(n), nil
}

// Mean divides a decoded weighted sum by the sum of weights. It returns
// ErrTooFewSurvivors when the weights sum to zero.
func Mean(sum []float64, weight float64) ([]float32, error) {
	if !(weight > 0) {
		return nil, fmt.Errorf("secagg: sum of weights %v: %w", weight, ErrTooFewSurvivors)
	}
	out := make([]float32, len(sum))
	for i, v := range sum {
		out[i] = float32(v / weight)
	}
	return out, nil
}

// Step is the fixed-point resolution 1/Scale(n) of one encoded element:
// a decoded mean of inputs with equal weights lies within Step of the
// float mean.
func (p Params) Step(n int) float64 { return 1 / p.Scale(n) }
