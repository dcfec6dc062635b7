package eval

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// GroupDiversity is the spread of one condition's synthetic images.
type GroupDiversity struct {
	// Key identifies the condition.
	Key string `json:"key"`
	// N counts the group's images.
	N int `json:"n"`
	// MeanDistance is the mean Euclidean distance over the group's pairs;
	// NaN for a group of one.
	MeanDistance float64 `json:"mean_distance"`
}

// DiversityResult summarises diversity within conditions.
type DiversityResult struct {
	// Groups holds every condition, sorted by key.
	Groups []GroupDiversity `json:"groups"`
	// Within is the mean of MeanDistance over groups of two or more.
	Within float64 `json:"within"`
	// Overall is the mean pairwise distance over all images, the scale
	// against which Within is read.
	Overall float64 `json:"overall"`
	// Ratio is Within/Overall: near 1, a condition varies as much as the
	// whole set; near 0, the generator collapsed to one image per condition.
	Ratio float64 `json:"ratio"`
	// Singletons counts groups of one image, which have no pairs.
	Singletons int `json:"singletons"`
}

// Diversity measures how much synthetic images made for the same condition
// differ: features holds one feature vector per image and groups each
// image's condition key (see ConditionKeys). The cost is O(n^2 d) for the
// overall scale.
func Diversity(ctx context.Context, features [][]float32, groups []string) (*DiversityResult, error) {
	if _, err := checkFeatures("diversity", features, 2); err != nil {
		return nil, err
	}
	if len(groups) != len(features) {
		return nil, fmt.Errorf("diversity: %d group keys for %d feature rows: %w", len(groups), len(features), ErrLength)
	}
	members := map[string][]int{}
	for i, g := range groups {
		members[g] = append(members[g], i)
	}
	out := &DiversityResult{}
	var sum float64
	k := 0
	for _, key := range slices.Sorted(maps.Keys(members)) {
		idx := members[key]
		gd := GroupDiversity{Key: key, N: len(idx), MeanDistance: math.NaN()}
		if len(idx) < 2 {
			out.Singletons++
		} else {
			gd.MeanDistance = meanPairwise(features, idx)
			sum += gd.MeanDistance
			k++
		}
		out.Groups = append(out.Groups, gd)
	}
	all := make([]int, len(features))
	for i := range all {
		all[i] = i
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.Overall = meanPairwise(features, all)
	out.Within, out.Ratio = math.NaN(), math.NaN()
	if k > 0 {
		out.Within = sum / float64(k)
		if out.Overall > 0 {
			out.Ratio = out.Within / out.Overall
		}
	}
	return out, nil
}

// meanPairwise is the mean Euclidean distance over pairs of rows in idx.
func meanPairwise(x [][]float32, idx []int) float64 {
	var sum float64
	for a := range idx {
		for b := a + 1; b < len(idx); b++ {
			sum += math.Sqrt(sqDist(x[idx[a]], x[idx[b]]))
		}
	}
	n := float64(len(idx))
	return sum / (n * (n - 1) / 2)
}

// ConditionKeys formats each 22-number condition vector as a key, so that
// replicas of one real row (same sex, age, race and labels) share a group.
func ConditionKeys(cond [][model.CondDim]float32) []string {
	out := make([]string, len(cond))
	var sb strings.Builder
	for i, c := range cond {
		sb.Reset()
		for j, v := range c {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		out[i] = sb.String()
	}
	return out
}
