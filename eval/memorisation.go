package eval

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/synthfed/synthfed/model"
)

// MemorisationInput holds what near-copy detection compares. Pixels are one
// flattened image per row (see Images); features, when given, are one
// feature vector per image of the same sets, in the same order.
type MemorisationInput struct {
	// Synthetic and Training hold the images' pixels.
	Synthetic [][]float32
	Training  [][]float32
	// SyntheticFeatures and TrainingFeatures are optional; give both or
	// neither.
	SyntheticFeatures [][]float32
	TrainingFeatures  [][]float32
	// TrainingPatients, when given, excludes pairs of the same patient from
	// the real-to-real calibration (two views of one patient are not a
	// near-copy baseline).
	TrainingPatients []string
}

// SpaceResult is near-copy detection in one space (pixels or features).
type SpaceResult struct {
	// Space is "pixel" or "feature".
	Space string `json:"space"`
	// Percentile is the configured calibration percentile.
	Percentile float64 `json:"percentile"`
	// Threshold is that percentile of the real-to-real nearest-neighbour
	// distances; a synthetic image at or below it is flagged.
	Threshold float64 `json:"threshold"`
	// CalibrationRows counts the training images with an eligible neighbour.
	CalibrationRows int `json:"calibration_rows"`
	// MedianRealNN and MedianSyntheticNN are the median nearest-neighbour
	// distances real-to-real and synthetic-to-training.
	MedianRealNN      float64 `json:"median_real_nn"`
	MedianSyntheticNN float64 `json:"median_synthetic_nn"`
	// Flagged counts the synthetic images flagged in this space.
	Flagged int `json:"flagged"`
}

// NearestTrain is one synthetic image's nearest training images.
type NearestTrain struct {
	// Synthetic indexes the synthetic image.
	Synthetic int `json:"synthetic"`
	// PixelIndex and PixelDistance give the nearest training image by
	// Euclidean pixel distance.
	PixelIndex    int     `json:"pixel_index"`
	PixelDistance float64 `json:"pixel_distance"`
	PixelFlag     bool    `json:"pixel_flag"`
	// FeatureIndex and FeatureDistance give the nearest training image by
	// feature distance; -1 and 0 when no features were given.
	FeatureIndex    int     `json:"feature_index"`
	FeatureDistance float64 `json:"feature_distance"`
	FeatureFlag     bool    `json:"feature_flag"`
}

// MemorisationResult is the near-copy summary of a synthetic set.
type MemorisationResult struct {
	// Synthetic and Training count the images compared.
	Synthetic int `json:"synthetic"`
	Training  int `json:"training"`
	// Pixel is the pixel-space detection; Feature is nil without features.
	Pixel   SpaceResult  `json:"pixel"`
	Feature *SpaceResult `json:"feature,omitempty"`
	// Nearest holds every synthetic image's nearest training images.
	Nearest []NearestTrain `json:"nearest"`
	// Flagged lists, ascending, the synthetic images flagged in any space.
	Flagged []int `json:"flagged"`
}

// Memorisation finds, for every synthetic image, its nearest training image
// by pixel distance and by feature distance, and flags near-copies: a
// synthetic image whose distance is at or below the cfg.Percentile-th
// percentile of the training images' own nearest-neighbour distances (each
// training image against the others, other patients only when patients are
// given). The cost is O(n_synth n_train d + n_train^2 d) per space, spread
// over GOMAXPROCS goroutines with partial-distance pruning.
func Memorisation(ctx context.Context, in MemorisationInput, cfg MemorisationConfig) (*MemorisationResult, error) {
	if err := checkPair("synthetic pixels", in.Synthetic, 1, "training pixels", in.Training, 2); err != nil {
		return nil, fmt.Errorf("memorisation: %w", err)
	}
	hasFeat := in.SyntheticFeatures != nil || in.TrainingFeatures != nil
	if hasFeat {
		if len(in.SyntheticFeatures) != len(in.Synthetic) || len(in.TrainingFeatures) != len(in.Training) {
			return nil, fmt.Errorf("memorisation: features for %d/%d images, pixels for %d/%d: %w",
				len(in.SyntheticFeatures), len(in.TrainingFeatures), len(in.Synthetic), len(in.Training), ErrLength)
		}
		if err := checkPair("synthetic features", in.SyntheticFeatures, 1, "training features", in.TrainingFeatures, 2); err != nil {
			return nil, fmt.Errorf("memorisation: %w", err)
		}
	}
	if in.TrainingPatients != nil && len(in.TrainingPatients) != len(in.Training) {
		return nil, fmt.Errorf("memorisation: %d patient IDs for %d training images: %w", len(in.TrainingPatients), len(in.Training), ErrLength)
	}
	res := &MemorisationResult{Synthetic: len(in.Synthetic), Training: len(in.Training), Nearest: make([]NearestTrain, len(in.Synthetic))}
	pix, pidx, pdist, err := detect(ctx, "pixel", in.Synthetic, in.Training, in.TrainingPatients, cfg.Percentile)
	if err != nil {
		return nil, err
	}
	res.Pixel = pix
	for i := range res.Nearest {
		res.Nearest[i] = NearestTrain{Synthetic: i, PixelIndex: pidx[i], PixelDistance: pdist[i], PixelFlag: pdist[i] <= pix.Threshold, FeatureIndex: -1}
	}
	if hasFeat {
		feat, fidx, fdist, err := detect(ctx, "feature", in.SyntheticFeatures, in.TrainingFeatures, in.TrainingPatients, cfg.Percentile)
		if err != nil {
			return nil, err
		}
		res.Feature = &feat
		for i := range res.Nearest {
			nt := &res.Nearest[i]
			nt.FeatureIndex, nt.FeatureDistance, nt.FeatureFlag = fidx[i], fdist[i], fdist[i] <= feat.Threshold
		}
	}
	for _, nt := range res.Nearest {
		if nt.PixelFlag || nt.FeatureFlag {
			res.Flagged = append(res.Flagged, nt.Synthetic)
		}
	}
	return res, nil
}

// detect calibrates the threshold in one space and finds each synthetic
// row's nearest training row.
func detect(ctx context.Context, space string, synth, train [][]float32, patients []string, pct float64) (SpaceResult, []int, []float64, error) {
	sr := SpaceResult{Space: space, Percentile: pct}
	skip := func(q, b int) bool {
		return q == b || (patients != nil && patients[q] != "" && patients[q] == patients[b])
	}
	_, realNN, err := nearest(ctx, train, train, skip)
	if err != nil {
		return sr, nil, nil, err
	}
	calib := slices.DeleteFunc(realNN, func(d float64) bool { return math.IsInf(d, 1) })
	if len(calib) == 0 {
		return sr, nil, nil, fmt.Errorf("memorisation %s: no training image has a neighbour from another patient: %w", space, ErrTooFew)
	}
	slices.Sort(calib)
	sr.CalibrationRows = len(calib)
	sr.Threshold = Quantile(calib, pct/100)
	sr.MedianRealNN = Quantile(calib, 0.5)
	idx, dist, err := nearest(ctx, synth, train, nil)
	if err != nil {
		return sr, nil, nil, err
	}
	sorted := slices.Clone(dist)
	slices.Sort(sorted)
	sr.MedianSyntheticNN = Quantile(sorted, 0.5)
	for _, d := range dist {
		if d <= sr.Threshold {
			sr.Flagged++
		}
	}
	return sr, idx, dist, nil
}

// Images splits an image set's pixels into one shared slice per image, the
// row layout Memorisation takes.
func Images(s *model.ImageSet) [][]float32 {
	out := make([][]float32, s.Len())
	for i := range out {
		out[i] = s.Image(i)
	}
	return out
}
