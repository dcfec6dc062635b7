package study

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
)

// QualityReference names the quality row of real test images, which every
// generator's row is read against.
const QualityReference = "real test images (reference)"

// maxFlagged bounds the near-copies listed per generator in the results.
const maxFlagged = 20

// Judge scores synthetic images with a classifier trained on real data
// (the central one): its penultimate features for the Fréchet distance,
// precision, recall, diversity and near-copy detection, and its
// probabilities for conditioning fidelity.
type Judge struct {
	cfg  Config
	pred *classifier.Predictor
}

// NewJudge binds the judge classifier's weights.
func NewJudge(cfg Config, w model.Weights) (*Judge, error) {
	p, err := classifier.NewPredictor(cfg.Classifier.Arch, w, classifier.PredictBatch)
	if err != nil {
		return nil, err
	}
	return &Judge{cfg: cfg, pred: p}, nil
}

// QualitySample picks the images the quality metrics use from a
// generator's replicas at each site: the first rows, each with its first
// (up to four) replicas, so that diversity has groups of one condition,
// about cfg.Eval.QualityImages images in all.
func QualitySample(cfg Config, pools []*Replicas) *model.ImageSet {
	if len(pools) == 0 {
		return &model.ImageSet{}
	}
	r := min(4, pools[0].Replicas)
	per := max(1, cfg.Eval.QualityImages/(r*len(pools)))
	var sets []*model.ImageSet
	for _, p := range pools {
		var idx []int
		for i := range min(per, p.Rows) {
			for k := range min(r, p.Replicas) {
				idx = append(idx, k*p.Rows+i)
			}
		}
		sets = append(sets, p.Set.Subset(idx))
	}
	return Pool(sets...)
}

// Quality scores one generator's synthetic images syn against the real
// images it learned from (train) and returns the report rows. A metric
// that is undefined on these images (too few rows, one class) is left out.
func (j *Judge) Quality(ctx context.Context, name string, syn, train *model.ImageSet) (report.Quality, report.Memorisation, error) {
	sp, sf, err := j.pred.Predict(ctx, syn)
	if err != nil {
		return report.Quality{}, report.Memorisation{}, err
	}
	_, tf, err := j.pred.Predict(ctx, train)
	if err != nil {
		return report.Quality{}, report.Memorisation{}, err
	}
	rf := tf[:min(len(tf), 2*j.cfg.Eval.QualityImages)]
	fd, err := eval.FrechetDistance(rf, sf)
	if err != nil {
		fd = math.NaN()
	}
	pr, err := eval.PrecisionRecall(ctx, rf, sf, j.cfg.Eval.PRNeighbours)
	if err != nil {
		return report.Quality{}, report.Memorisation{}, err
	}
	var fid *eval.FidelityResult
	if scores, err := eval.ScoreColumns(sp); err == nil {
		fid, _ = eval.Fidelity(eval.NewTestSet(syn.Labels, nil), scores, 0.5)
	}
	div, err := eval.Diversity(ctx, sf, eval.ConditionKeys(syn.Cond))
	if err != nil {
		return report.Quality{}, report.Memorisation{}, err
	}
	q := report.QualityFrom(name, fd, &pr, fid, div)
	res, err := eval.Memorisation(ctx, eval.MemorisationInput{Synthetic: eval.Images(syn), Training: eval.Images(train),
		SyntheticFeatures: sf, TrainingFeatures: tf, TrainingPatients: train.PatientIDs},
		eval.MemorisationConfig{Percentile: j.cfg.Eval.MemorisationPercentile})
	if err != nil {
		return q, report.Memorisation{}, fmt.Errorf("study: memorisation %s: %w", name, err)
	}
	return q, report.MemorisationFrom(name, res, maxFlagged), nil
}

// Grid returns a sample grid of set: for the conditions (labels) most
// often positive in it, up to n images each whose label is positive.
func Grid(title string, set *model.ImageSet, conditions, n int) report.SampleGrid {
	g := report.SampleGrid{Title: title}
	counts := make([]int, model.NumLabels)
	for _, l := range set.Labels {
		for j, v := range l {
			if v == model.LabelPositive {
				counts[j]++
			}
		}
	}
	order := make([]int, model.NumLabels)
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool { return counts[order[a]] > counts[order[b]] })
	for _, j := range order[:min(conditions, len(order))] {
		row := report.SampleRow{Condition: model.LabelNames[j], Size: set.Size}
		for i, l := range set.Labels {
			if l[j] == model.LabelPositive && len(row.Images) < n {
				row.Images = append(row.Images, append([]float32(nil), set.Image(i)...))
			}
		}
		if len(row.Images) > 0 {
			g.Rows = append(g.Rows, row)
		}
	}
	return g
}

// capped returns the first n images of s (all when it has fewer).
func capped(s *model.ImageSet, n int) *model.ImageSet {
	if s.Len() <= n {
		return s
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return s.Subset(idx)
}
