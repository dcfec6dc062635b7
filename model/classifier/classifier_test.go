package classifier

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
)

func TestClassifierLearnsSeparableTask(t *testing.T) {
	cfg := toyConfig()
	train, val, test := toySet(256, 1, 0.1), toySet(64, 2, 0), toySet(128, 3, 0)
	ctx := context.Background()
	w0, _ := cfg.Arch.InitWeights(1)
	probs0, _, err := Predict(ctx, cfg.Arch, w0, test)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := Fit(ctx, cfg, train, val, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	probs, feats, err := Predict(ctx, cfg.Arch, res.Weights, test)
	if err != nil {
		t.Fatal(err)
	}
	before, after := MacroAUROC(probs0, test.Labels), MacroAUROC(probs, test.Labels)
	t.Logf("%d params; %d steps in %v (%v/step), best step %d, val loss %.4f; macro AUROC %.3f -> %.3f; history %+v",
		w0.NumParams(), res.Steps, elapsed, elapsed/time.Duration(res.Steps), res.BestStep, res.BestValLoss, before, after, res.History)
	if after < 0.9 {
		t.Fatalf("macro AUROC %.3f < 0.9", after)
	}
	if len(feats) != test.Len() || len(feats[0]) != cfg.Arch.FeatureDim() {
		t.Fatalf("features %dx%d", len(feats), len(feats[0]))
	}
	for _, p := range probs {
		for _, v := range p {
			if !(v > 0 && v < 1) {
				t.Fatalf("probability %v", v)
			}
		}
	}
}

func TestEarlyStoppingKeepsBest(t *testing.T) {
	cfg := toyConfig()
	cfg.Train.MaxSteps = 400
	cfg.Train.EvalEvery = 5
	cfg.Train.Patience = 2
	cfg.Train.MinDelta = 10 // nothing counts as an improvement after the first check
	res, err := Fit(context.Background(), cfg, toySet(32, 1, 0), toySet(16, 2, 0), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.Steps != 15 || res.BestStep != 5 || len(res.History) != 3 {
		t.Fatalf("stopped %v after %d steps, best %d, %d checks", res.Stopped, res.Steps, res.BestStep, len(res.History))
	}
	// The kept weights are the EMA at step 5: their loss is the recorded one.
	p, _ := NewPredictor(cfg.Arch, res.Weights, 8)
	vl, _ := p.Loss(context.Background(), toySet(16, 2, 0), cfg.Train.Labels, 1)
	if math.Abs(vl-res.BestValLoss) > 1e-6 {
		t.Fatalf("best weights score %v, recorded %v", vl, res.BestValLoss)
	}
}

func TestTrainingLossMatchesReference(t *testing.T) {
	// The graph's masked BCE (nn.BCEWithLogitsMasked) equals the plain-Go
	// Predictor.Loss on the same batch, for each policy and a synthetic
	// weight, when augmentation is off.
	for _, pol := range []LabelPolicy{{PolicyIgnore, PolicyZeros}, {PolicyOnes, PolicyIgnore}, {PolicyZeros, PolicyOnes}} {
		cfg := toyConfig()
		cfg.Train.BatchSize = 8
		cfg.Train.Labels = pol
		cfg.Train.Augment = AugmentConfig{}
		cfg.Train.SyntheticWeight = 0.25
		set := toySet(8, 4, 0.3)
		set.Synthetic = []bool{true, false, false, true, false, false, false, true}
		w, _ := cfg.Arch.InitWeights(2)
		ref, _ := NewPredictor(cfg.Arch, w.Clone(), 8)
		want, err := ref.Loss(context.Background(), set, pol, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		st, err := NewStepper(cfg, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Step(set, optim.Range(8))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-5 {
			t.Fatalf("policy %+v: graph loss %v, reference %v", pol, got, want)
		}
	}
}

func TestLabelPolicies(t *testing.T) {
	var row [model.NumLabels]model.Label
	row[0], row[1], row[2], row[3] = model.LabelPositive, model.LabelNegative, model.LabelUncertain, model.LabelBlank
	cases := []struct {
		pol      LabelPolicy
		tgtU, mU float32
		tgtB, mB float32
	}{
		{LabelPolicy{PolicyIgnore, PolicyZeros}, 0, 0, 0, 1},
		{LabelPolicy{PolicyOnes, PolicyIgnore}, 1, 1, 0, 0},
		{LabelPolicy{PolicyZeros, PolicyOnes}, 0, 1, 1, 1},
	}
	for _, tc := range cases {
		tg, m, err := tc.pol.Targets(row)
		if err != nil {
			t.Fatal(err)
		}
		if tg[0] != 1 || m[0] != 1 || tg[1] != 0 || m[1] != 1 {
			t.Fatalf("%+v: positive/negative %v %v", tc.pol, tg, m)
		}
		if tg[2] != tc.tgtU || m[2] != tc.mU || tg[3] != tc.tgtB || m[3] != tc.mB {
			t.Fatalf("%+v: uncertain (%v,%v) blank (%v,%v)", tc.pol, tg[2], m[2], tg[3], m[3])
		}
	}
	row[5] = 7
	if _, _, err := DefaultLabelPolicy().Targets(row); !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), "Edema") {
		t.Fatalf("bad label: %v", err)
	}
	if err := (LabelPolicy{"maybe", ""}).Validate(); err == nil || !strings.Contains(err.Error(), "labels.blank") {
		t.Fatalf("Validate: %v", err)
	}
}

func TestMixerRealFraction(t *testing.T) {
	set := toySet(20, 1, 0)
	set.Synthetic = make([]bool, 20)
	for i := 12; i < 20; i++ {
		set.Synthetic[i] = true
	}
	m := newMixer(set, 8, 0.75, rand.New(rand.NewPCG(1, 1)))
	for range 10 {
		real := 0
		for _, i := range m.next() {
			if !set.Synthetic[i] {
				real++
			}
		}
		if real != 6 {
			t.Fatalf("%d real images in a batch of 8 at fraction 0.75", real)
		}
	}
}

func TestSameSeedSameWeights(t *testing.T) {
	ctx := context.Background()
	run := func(seed int64) string {
		tr, err := NewTrainer(toyConfig(), toySet(40, 1, 0.1), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := tr.Init(ctx, 3)
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 4, Seed: seed, ProxMu: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		return res.Weights.Hash() + tr.EMA().Hash()
	}
	if run(5) != run(5) {
		t.Fatal("same seed gave different weights")
	}
	if run(5) == run(6) {
		t.Fatal("different seeds gave the same weights")
	}
}

func TestTrainerRoundsAndEvaluate(t *testing.T) {
	ctx := context.Background()
	tr, err := NewTrainer(toyConfig(), toySet(64, 1, 0.1), toySet(32, 2, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tr.Init(ctx, 1)
	m0, err := tr.Evaluate(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Train(ctx, w, model.TrainSpec{LocalEpochs: 3, Round: 1, Params: map[string]string{optim.ParamLocalOnly: "*norm*"}, ProxMu: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics["steps"] != 12 || res.NumSamples != 64 {
		t.Fatalf("3 epochs of 64 at batch 16: %v", res.Metrics)
	}
	m1, _ := tr.Evaluate(ctx, res.Weights)
	if !(m1["val_loss"] < m0["val_loss"]) {
		t.Fatalf("val loss %v -> %v", m0["val_loss"], m1["val_loss"])
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tr.Train(cctx, w, model.TrainSpec{LocalSteps: 2}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	ck, err := tr.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cls.safetensors")
	if err := model.WriteCheckpointFile(path, ck); err != nil {
		t.Fatal(err)
	}
	back, err := model.ReadCheckpointFile(path)
	if err != nil || back.Weights.Hash() != ck.Weights.Hash() || back.Arch != ArchName {
		t.Fatalf("checkpoint: %v", err)
	}
	if a, err := ArchOf(back); err != nil || a.Widths[1] != 32 {
		t.Fatalf("ArchOf: %+v %v", a, err)
	}
	wider := ck
	a := toyConfig().Arch
	a.Widths = []int{8, 24}
	wider.Config = a.ArchJSON()
	b, _ := model.EncodeCheckpoint(wider)
	if _, err := model.DecodeCheckpoint(b); !errors.Is(err, model.ErrShape) || !strings.Contains(err.Error(), `"head.weight"`) {
		t.Fatalf("wider checkpoint: %v", err)
	}
}

func TestPredictBatchIndependence(t *testing.T) {
	cfg := toyConfig()
	w, _ := cfg.Arch.InitWeights(9)
	set := toySet(5, 3, 0)
	p, _ := NewPredictor(cfg.Arch, w, 4) // 4 + a padded batch of 1
	all, fa, err := p.Predict(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	one := &model.ImageSet{Size: 16, Pixels: set.Image(4), Cond: set.Cond[4:], Labels: set.Labels[4:]}
	single, fs, _ := Predict(context.Background(), cfg.Arch, w, one)
	for j := range model.NumLabels {
		if math.Abs(float64(single[0][j]-all[4][j])) > 1e-6 {
			t.Fatalf("label %d: %v alone, %v in a batch", j, single[0][j], all[4][j])
		}
	}
	if math.Abs(float64(fs[0][3]-fa[4][3])) > 1e-6 {
		t.Fatal("features depend on the batch")
	}
	bad := &model.ImageSet{Size: 8, Pixels: make([]float32, 64), Cond: make([][model.CondDim]float32, 1), Labels: make([][model.NumLabels]model.Label, 1)}
	if _, _, err := p.Predict(context.Background(), bad); !errors.Is(err, model.ErrShape) {
		t.Fatalf("8x8 images: %v", err)
	}
}

func TestNetworkGradientByFiniteDifference(t *testing.T) {
	cfg := toyConfig()
	cfg.Train.BatchSize = 3
	cfg.Train.Augment = AugmentConfig{}
	w, _ := cfg.Arch.InitWeights(4)
	set := toySet(3, 8, 0.3)
	st, err := NewStepper(cfg, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the buffers once through Step's preparation, then rerun the graph.
	idx := optim.Range(3)
	if _, err := st.Step(set, idx); err != nil { // also moves w by one step
		t.Fatal(err)
	}
	run := func() float64 {
		_ = st.prog.ZeroGrad()
		_ = graph.Let(st.u.x, st.x)
		_ = graph.Let(st.tgtNode, st.tgt)
		_ = graph.Let(st.maskNode, st.mask)
		if err := st.prog.Run(); err != nil {
			t.Fatal(err)
		}
		return float64(st.loss.Scalar())
	}
	run()
	ps, _ := st.prog.Params()
	grads := map[string][]float32{}
	for _, p := range ps {
		grads[p.Name] = append([]float32(nil), p.Grad...)
	}
	checked := 0
	for _, p := range ps {
		for _, k := range []int{0, len(p.Value) / 3, len(p.Value) - 1} {
			orig := p.Value[k]
			const h = 5e-3
			p.Value[k] = orig + h
			lp := run()
			p.Value[k] = orig - h
			lm := run()
			p.Value[k] = orig
			fd := (lp - lm) / (2 * h)
			g := float64(grads[p.Name][k])
			if math.Abs(g-fd) > 2e-4+0.05*math.Abs(fd) {
				t.Errorf("%s[%d]: gradient %v, finite difference %v", p.Name, k, g, fd)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("only %d coordinates checked", checked)
	}
}

func TestConfigValidateAndTOML(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.Arch.Widths = []int{16, 30}
	bad.Train.RealFraction = 2
	bad.Train.Labels.Uncertain = "u-maybe"
	bad.Train.Augment.NoiseStd = -1
	err := bad.Validate()
	for _, want := range []string{"arch.groups", "train.real_fraction", "labels.uncertain", "augment.noise_std"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem naming %s", err, want)
		}
	}
	cfg := DefaultConfig()
	doc := []byte("[arch]\nwidths = [8, 16]\n[train]\nreal_fraction = 0.5\n[train.labels]\nuncertain = \"ones\"\n[train.augment]\nflip_prob = 0.0\n")
	if err := config.Decode(doc, "cls.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Arch.Widths) != 2 || cfg.Train.RealFraction != 0.5 || cfg.Train.Labels.Uncertain != PolicyOnes || cfg.Train.Augment.FlipProb != 0 {
		t.Fatalf("decoded %+v", cfg)
	}
}

// BenchmarkStepDefault times the default classifier's training step at
// batch 32 on 32x32 images.
func BenchmarkStepDefault(b *testing.B) {
	cfg := DefaultConfig()
	w, _ := cfg.Arch.InitWeights(1)
	st, err := NewStepper(cfg, w, 1)
	if err != nil {
		b.Fatal(err)
	}
	set := toySet(32, 1, 0)
	big := &model.ImageSet{Size: 32, Pixels: make([]float32, 32*32*32), Cond: set.Cond, Labels: set.Labels}
	for i := range big.Pixels {
		big.Pixels[i] = float32(i%13)/13 - 0.5
	}
	idx := optim.Range(32)
	b.ResetTimer()
	for range b.N {
		if _, err := st.Step(big, idx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestScheduleFollowsTheJob: the learning-rate schedule of a round starts
// at the job's global step, so a late round of a long warm-up moves the
// weights much farther than the first (the old trainer restarted the
// warm-up every round, and both moved alike), and a cosine decay that has
// ended leaves a late round at MinLRRatio of the rate.
func TestScheduleFollowsTheJob(t *testing.T) {
	ctx := context.Background()
	moved := func(adam func(*Config), round int) float64 {
		cfg := toyConfig()
		cfg.Train.Adam.WeightDecay = 0
		adam(&cfg)
		tr, err := NewTrainer(cfg, toySet(40, 1, 0.1), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := tr.Init(ctx, 3)
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 4, Seed: 2, Round: round})
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for _, x := range res.Weights.Tensors() {
			y, _ := w.Get(x.Name)
			for k := range x.Data {
				d := float64(x.Data[k] - y.Data[k])
				s += d * d
			}
		}
		return math.Sqrt(s)
	}
	warm := func(c *Config) { c.Train.Adam.WarmupSteps = 1000 }
	if first, late := moved(warm, 1), moved(warm, 101); !(late > 20*first) {
		t.Fatalf("warm-up: round 1 moved %v, round 101 %v", first, late)
	}
	decay := func(c *Config) { c.Train.Adam.DecaySteps, c.Train.Adam.MinLRRatio = 40, 0.01 }
	if first, late := moved(decay, 1), moved(decay, 20); !(first > 20*late) {
		t.Fatalf("decay: round 1 moved %v, round 20 %v", first, late)
	}
}
