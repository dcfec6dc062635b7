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

// PreScaleInPlace is PreScale multiplying update's own values (no copy:
// the returned Input's Values is update).
func PreScaleInPlace(update []float32, weight float64, p Params) (Input, error) {
	w := weight / p.MaxWeight
	if !(w > 0 && w <= 1) || math.IsNaN(weight) {
		return Input{}, fmt.Errorf("secagg: weight %v with max_weight %v: want in (0, max_weight]: %w", weight, p.MaxWeight, ErrBadInput)
	}
	for i, v := range update {
		update[i] = float32(float64(v) * w)
	}
	return Input{Values: update, Weight: w}, nil
}

// Encode maps an Input to the ring Z/2^32 for a roster of n sites: each
// element is clipped to [-C, C], multiplied by Scale(n) and rounded to the
// nearest integer; the weight, scaled by WeightScale(n), is the last element.
// It returns the vector (Length+1 elements) and how many were clipped.
func Encode(in Input, p Params, n int) ([]uint32, int, error) {
	if err := checkInput(in, p); err != nil {
		return nil, 0, err
	}
	out := make([]uint32, p.Length+1)
	clipped, err := encodeInto(out, false, in, p, n)
	if err != nil {
		return nil, 0, err
	}
	return out, clipped, nil
}

// encodeAdd adds Encode(in, p, n) to dst (Length+1 elements, for example
// the site's expanded mask) in place, so that masking a study-size input
// needs no third vector. A refused input (a value not finite) leaves dst
// unchanged.
func encodeAdd(dst []uint32, in Input, p Params, n int) (int, error) {
	if err := checkInput(in, p); err != nil {
		return 0, err
	}
	if len(dst) != p.Length+1 {
		return 0, fmt.Errorf("secagg: mask of %d elements, params want %d: %w", len(dst), p.Length+1, ErrBadInput)
	}
	for i, v := range in.Values {
		if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("secagg: element %d is %v: %w", i, v, ErrBadInput)
		}
	}
	return encodeInto(dst, true, in, p, n)
}

func checkInput(in Input, p Params) error {
	if len(in.Values) != p.Length {
		return fmt.Errorf("secagg: input has %d elements, params want %d: %w", len(in.Values), p.Length, ErrBadInput)
	}
	if !(in.Weight >= 0 && in.Weight <= 1) {
		return fmt.Errorf("secagg: pre-scaled weight %v: want in [0, 1]: %w", in.Weight, ErrBadInput)
	}
	return nil
}

// encodeInto writes (add: adds) the encoded input into out.
func encodeInto(out []uint32, add bool, in Input, p Params, n int) (int, error) {
	s, c := p.Scale(n), p.Clip
	clipped := 0
	vals := out[:len(in.Values)] // lets the compiler drop the bounds checks
	for i, v := range in.Values {
		x := float64(v)
		if !(x >= -c && x <= c) { // rare: clipped or not a number
			switch {
			case math.IsNaN(x) || math.IsInf(x, 0):
				return 0, fmt.Errorf("secagg: element %d is %v: %w", i, v, ErrBadInput)
			case x > c:
				x = c
			default:
				x = -c
			}
			clipped++
		}
		e := uint32(int32(roundHalfAway(x * s)))
		if add {
			e += vals[i]
		}
		vals[i] = e
	}
	w := uint32(int32(math.Round(in.Weight * p.WeightScale(n))))
	if add {
		w += out[p.Length]
	}
	out[p.Length] = w
	return clipped, nil
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
