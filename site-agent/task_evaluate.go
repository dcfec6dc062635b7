package siteagent

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/eval"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/protocol"
)

// runEvaluate scores each model of the job on the site's test set and
// returns aggregates only: per-label and macro AUROC with their counts,
// patient-level bootstrap intervals, and DeLong's paired test against the
// baseline, all computed here, next to the per-image scores, which never
// leave the site.
func (x *executor) runEvaluate(ctx context.Context, jc *protocol.JobContext) (*protocol.EvaluateResult, error) {
	e := jc.Evaluate
	data, err := x.data.get(ctx)
	if err != nil {
		return nil, stageErr("data", err)
	}
	test := data.Test
	if test.Len() == 0 {
		return nil, stageErr("evaluate", fmt.Errorf("the site's split leaves no test rows (data.split): %w", ErrNoData))
	}
	labels, patients := testMeta(test)
	ts := eval.NewTestSet(labels, patients)
	refs := append([]protocol.ModelRef(nil), e.Models...)
	base := -1
	if e.Baseline != nil {
		base = indexOfHash(refs, e.Baseline.Hash)
		if base < 0 {
			refs, base = append(refs, *e.Baseline), len(refs)
		}
	}
	scores := make([]eval.Scores, len(refs))
	release, err := x.deviceSlot(ctx)
	if err != nil {
		return nil, stageErr("evaluate", err)
	}
	for i, ref := range refs {
		if scores[i], err = x.score(ctx, ref, test, data.uncertain); err != nil {
			release()
			return nil, err
		}
	}
	release()
	res := &protocol.EvaluateResult{Site: x.cfg.SiteID, Split: "test", Images: test.Len(), Patients: countPatients(patients), BootstrapReps: e.BootstrapReps}
	var boot *eval.BootstrapResult
	if e.BootstrapReps > 0 {
		boot, err = eval.Bootstrap(ctx, ts, scores, eval.BootstrapConfig{Reps: e.BootstrapReps, Level: e.BootstrapLevel, Seed: e.BootstrapSeed})
		if err != nil {
			return nil, stageErr("evaluate", fmt.Errorf("bootstrap: %w", err))
		}
	}
	for i := range e.Models {
		ms := modelScore(ts, refs[i], scores[i], boot, i)
		if base >= 0 && base != i {
			ms.VsBaseline = compare(ts, scores[i], scores[base], refs[base].Hash)
		}
		res.Models = append(res.Models, ms)
	}
	x.metrics.evaluated(len(refs))
	return res, nil
}

func indexOfHash(refs []protocol.ModelRef, h string) int {
	for i, r := range refs {
		if r.Hash == h {
			return i
		}
	}
	return -1
}

// testMeta returns the test split's labels and patients: the in-memory
// set's, or a streamed split's records'.
func testMeta(test Split) ([][model.NumLabels]model.Label, []string) {
	if test.Images != nil {
		return test.Images.Labels, test.Images.PatientIDs
	}
	labels, patients := make([][model.NumLabels]model.Label, len(test.Records)), make([]string, len(test.Records))
	for i := range test.Records {
		labels[i], patients[i] = test.Records[i].Labels, test.Records[i].PatientID
	}
	return labels, patients
}

// score downloads a classifier and predicts the test set: in memory, or
// streamed from the store model.SliceImages images at a time.
func (x *executor) score(ctx context.Context, ref protocol.ModelRef, test Split, u dataset.UncertainPolicy) (eval.Scores, error) {
	cfg, err := ClassifierConfig(ref.ModelConfig)
	if err != nil {
		return nil, stageErr("build", fmt.Errorf("model %.12s of job %s: %w", ref.Hash, ref.Job, err))
	}
	if size := test.Size(); cfg.Arch.ImageSize != size {
		return nil, stageErr("build", fmt.Errorf("model %.12s takes %dx%d images, the site's are %dx%d: %w", ref.Hash, cfg.Arch.ImageSize, cfg.Arch.ImageSize, size, size, ErrModelConfig))
	}
	w, err := x.checkpoint(ctx, ref.Hash)
	if err != nil {
		return nil, err
	}
	pred, err := classifier.NewPredictor(cfg.Arch, w, classifier.PredictBatch)
	if err != nil {
		return nil, stageErr("build", err)
	}
	pred.UseDevice(x.device("classifier inference", "model", fmt.Sprintf("%.12s", ref.Hash)))
	var probs [][model.NumLabels]float32
	if test.Images != nil {
		probs, _, err = pred.Predict(ctx, test.Images)
	} else {
		err = model.EachSlice(ctx, storeSlices{test.Stream, u}, func(_ int, part *model.ImageSet) error {
			p, _, err := pred.Predict(ctx, part)
			probs = append(probs, p...)
			return err
		})
	}
	if err != nil {
		return nil, stageErr("evaluate", fmt.Errorf("model %.12s: %w", ref.Hash, err))
	}
	sc, err := eval.ScoreColumns(probs)
	if err != nil {
		return nil, stageErr("evaluate", err)
	}
	return sc, nil
}

// modelScore summarises one model: macro and per-label AUROC with counts,
// and the bootstrap intervals of set i when boot is not nil.
func modelScore(ts *eval.TestSet, ref protocol.ModelRef, sc eval.Scores, boot *eval.BootstrapResult, i int) protocol.ModelScore {
	ms := protocol.ModelScore{Hash: ref.Hash, Job: ref.Job, MacroAUROC: protocol.Float(math.NaN())}
	macro, err := eval.MacroAUROC(ts, sc)
	if macro != nil {
		ms.MacroAUROC, ms.Included = protocol.Float(macro.Mean), macro.Included
		for j, l := range macro.Labels {
			ls := protocol.LabelScore{Name: l.Name, AUROC: protocol.Float(l.AUROC), Positives: l.Positives, Negatives: l.Negatives,
				Dropped: l.Dropped, Included: l.Included}
			if boot != nil {
				ls.CI = interval(boot.Labels[i][j])
			}
			ms.Labels = append(ms.Labels, ls)
		}
	}
	if boot != nil && err == nil {
		ms.MacroCI = interval(boot.Macro[i])
	}
	return ms
}

func interval(ci eval.CI) *protocol.Interval {
	return &protocol.Interval{Lo: protocol.Float(ci.Lo), Hi: protocol.Float(ci.Hi), Valid: ci.Valid}
}

// compare runs DeLong's paired macro test of a against the baseline b.
func compare(ts *eval.TestSet, a, b eval.Scores, baseline string) *protocol.Comparison {
	c := &protocol.Comparison{Baseline: baseline}
	t, err := eval.DeLongMacroPaired(ts, a, b)
	if err != nil {
		nan := protocol.Float(math.NaN())
		c.AUROC, c.BaselineAUROC, c.Diff, c.SE, c.Z, c.P = nan, nan, nan, nan, nan, nan
		c.Error = err.Error()
		if !errors.Is(err, eval.ErrNoLabels) {
			c.Error = "DeLong: " + c.Error
		}
		return c
	}
	m := t.Macro
	c.AUROC, c.BaselineAUROC, c.Diff, c.SE, c.Z, c.P = protocol.Float(m.AUROC1), protocol.Float(m.AUROC2), protocol.Float(m.Diff),
		protocol.Float(m.SE), protocol.Float(m.Z), protocol.Float(m.P)
	c.Tested = t.Tested
	return c
}

func countPatients(patients []string) int {
	seen := map[string]bool{}
	for i, p := range patients {
		if p == "" {
			p = fmt.Sprintf("\x00row%d", i)
		}
		seen[p] = true
	}
	return len(seen)
}
