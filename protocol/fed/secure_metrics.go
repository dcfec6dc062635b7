package fed

import (
	"fmt"
	"math"
	"regexp"
)

// Round metrics through the secure sum
//
// Under secure aggregation the coordinator sees no site's metrics. A site
// therefore appends its scalar metrics to the masked vector, after the
// model update, as SecureMetricElems elements per metric, in the order the
// round names them (the secure_metrics of its training instructions): the metric times the
// site's pre-scaled weight, and the weight alone. The secure sum of the
// pairs gives, per metric, the weighted sum over the survivors that
// reported it and the sum of their weights, so the coordinator learns the
// weighted mean across survivors and nothing about a single site (a site
// without the metric sends zeros and does not count).
//
// Fixed-point range: each metric is clipped to [-B, B] (B the round's
// secure_metric_bound) and scaled by C/B (C the fixed-point clip), so that
// with a pre-scaled weight w in (0, 1] both elements lie in [-C, C] and
// the encoding never clips them. The mean's absolute error from the
// fixed-point rounding is at most about n^2 (B + |mean|) / (2^32 W) for n
// sites whose pre-scaled weights sum to W (and float32 rounding, a relative
// 6e-8): with B = 100, three sites of 1000 samples each under max_weight
// 1e6 (W = 0.003), about 7e-5.

// SecureMetricElems is the number of masked-vector elements per metric.
const SecureMetricElems = 2

// MaxSecureMetrics bounds the metrics one secure round carries.
const MaxSecureMetrics = 64

var metricNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidateSecureMetrics checks a round's metric names (1-64 of
// [A-Za-z0-9_.-], unique, at most MaxSecureMetrics) and, when there are
// any, the bound (finite, > 0).
func ValidateSecureMetrics(names []string, bound float64) error {
	if len(names) > MaxSecureMetrics {
		return fmt.Errorf("%d secure metrics, at most %d: %w", len(names), MaxSecureMetrics, ErrMalformed)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !metricNameRe.MatchString(n) || seen[n] {
			return fmt.Errorf("secure metric %q: invalid or repeated name: %w", n, ErrMalformed)
		}
		seen[n] = true
	}
	if len(names) > 0 && (!(bound > 0) || math.IsInf(bound, 0)) {
		return fmt.Errorf("secure metric bound %v: want finite and > 0: %w", bound, ErrMalformed)
	}
	return nil
}

// EncodeSecureMetrics returns the masked-vector tail that carries a site's
// metrics (SecureMetricElems per name, in order) for a pre-scaled weight
// in (0, 1] and the fixed-point clip, and how many metrics were clipped to
// the bound. A metric the site lacks, or that is not finite, is sent as
// zeros and left out of the mean.
func EncodeSecureMetrics(metrics map[string]float64, names []string, bound, weight, clip float64) ([]float32, int) {
	out := make([]float32, SecureMetricElems*len(names))
	clipped := 0
	for i, n := range names {
		m, ok := metrics[n]
		if !ok || !finite(m) {
			continue
		}
		if m > bound || m < -bound {
			m, clipped = math.Max(-bound, math.Min(bound, m)), clipped+1
		}
		out[2*i] = inRange(weight*m/bound*clip, clip)
		out[2*i+1] = inRange(weight*clip, clip)
	}
	return out, clipped
}

// inRange rounds x, |x| <= clip, to the float32 nearest to it that the
// fixed-point encoding will not clip.
func inRange(x, clip float64) float32 {
	v := float32(x)
	for float64(v) > clip {
		v = math.Nextafter32(v, 0)
	}
	for float64(v) < -clip {
		v = math.Nextafter32(v, 0)
	}
	return v
}

// DecodeSecureMetrics reads the weighted means from the decoded secure
// sum's tail (the elements after the model's). A metric no survivor
// reported is absent from the result.
func DecodeSecureMetrics(tail []float64, names []string, bound float64) (map[string]float64, error) {
	if len(tail) != SecureMetricElems*len(names) {
		return nil, fmt.Errorf("secure metrics: %d elements for %d metrics: %w", len(tail), len(names), ErrMalformed)
	}
	out := make(map[string]float64, len(names))
	for i, n := range names {
		num, den := tail[2*i], tail[2*i+1]
		if !(den > 0) || !finite(num) {
			continue
		}
		out[n] = math.Max(-bound, math.Min(bound, num/den*bound))
	}
	return out, nil
}
