package ddpm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
	"github.com/synthfed/synthfed/model/optim"
)

// tinyConfig is an 8x8 U-Net with attention, for fast structural tests.
func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.Arch = Arch{ImageSize: 8, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4, TimeEmbDim: 16, AttnResolutions: []int{4}, MidAttention: true}
	cfg.Train.BatchSize = 4
	cfg.Train.Adam.WarmupSteps = 0
	cfg.Train.Adam.LR = 1e-3
	cfg.Sample.BatchSize = 3
	cfg.Sample.Steps = 4
	return cfg
}

func tinyTrainer(t *testing.T) *Trainer {
	t.Helper()
	tr, err := NewTrainer(tinyConfig(), toySet(12, 8, 5), toySet(6, 8, 6), nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSameSeedSameWeights(t *testing.T) {
	ctx := context.Background()
	run := func(seed int64) (model.Weights, model.Weights) {
		tr := tinyTrainer(t)
		w, err := tr.Init(ctx, 11)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 5, Seed: seed, Round: 2})
		if err != nil {
			t.Fatal(err)
		}
		return res.Weights, tr.EMA()
	}
	a, aEMA := run(7)
	b, bEMA := run(7)
	c, _ := run(8)
	if a.Hash() != b.Hash() || aEMA.Hash() != bEMA.Hash() {
		t.Fatal("same seed gave different weights")
	}
	if a.Hash() == c.Hash() {
		t.Fatal("different seeds gave identical weights")
	}
	if err := a.CheckFinite(); err != nil {
		t.Fatal(err)
	}
	// Init is a function of the seed.
	tr := tinyTrainer(t)
	i1, _ := tr.Init(ctx, 1)
	i2, _ := tr.Init(ctx, 1)
	i3, _ := tr.Init(ctx, 2)
	if i1.Hash() != i2.Hash() || i1.Hash() == i3.Hash() {
		t.Fatal("Init is not a function of the seed")
	}
}

func TestTrainHonoursContextAndRefusesBadWeights(t *testing.T) {
	tr := tinyTrainer(t)
	w, _ := tr.Init(context.Background(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 3}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled train: %v", err)
	}
	bad := w.Filter(func(n string) bool { return n != "conv_in.weight" })
	_, err := tr.Train(context.Background(), bad, model.TrainSpec{LocalSteps: 1})
	if !errors.Is(err, model.ErrMissing) || !strings.Contains(err.Error(), `"conv_in.weight"`) {
		t.Fatalf("missing tensor: %v", err)
	}
}

func TestFedProxPullsTowardsGlobal(t *testing.T) {
	ctx := context.Background()
	dist := func(mu float64) float64 {
		tr := tinyTrainer(t)
		w, _ := tr.Init(ctx, 1)
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 6, Seed: 1, ProxMu: mu, LearningRate: 1e-2})
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for _, x := range res.Weights.Tensors() {
			g, _ := w.Get(x.Name)
			for k := range x.Data {
				d := float64(x.Data[k] - g.Data[k])
				s += d * d
			}
		}
		return math.Sqrt(s)
	}
	free, prox := dist(0), dist(1000)
	if !(prox < free*0.9) {
		t.Fatalf("distance to global: mu=0 %v, mu=1000 %v", free, prox)
	}
}

func TestLocalOnlyNormLayers(t *testing.T) {
	tr := tinyTrainer(t)
	ctx := context.Background()
	w, _ := tr.Init(ctx, 1)
	isNorm := optim.LocalOnly("*norm*")
	var norms int
	for _, x := range w.Tensors() {
		if isNorm(x.Name) {
			norms++
			if !strings.HasSuffix(x.Name, ".weight") && !strings.HasSuffix(x.Name, ".bias") {
				t.Errorf("odd norm tensor %q", x.Name)
			}
		}
	}
	// 2 per GroupNorm: res blocks have 2 each, attention blocks and norm_out 1.
	if norms == 0 || norms%2 != 0 {
		t.Fatalf("%d norm tensors", norms)
	}
	// The agent swaps in its local norm layers: training takes them as given.
	local := w.Clone()
	for _, x := range local.Tensors() {
		if isNorm(x.Name) {
			for k := range x.Data {
				x.Data[k] += 0.5
			}
		}
	}
	res, err := tr.Train(ctx, local, model.TrainSpec{LocalSteps: 2, ProxMu: 0.1, Params: map[string]string{optim.ParamLocalOnly: "*norm*"}})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := res.Weights.Get("norm_out.weight")
	if math.Abs(float64(g.Data[0])-1.5) > 0.05 {
		t.Fatalf("norm_out.weight[0] = %v, want near the swapped-in 1.5", g.Data[0])
	}
	if optim.LocalOnly("") != nil || optim.LocalOnly("[")("x") {
		t.Fatal("LocalOnly edge cases")
	}
}

func TestCheckpointRoundTripAndRefusal(t *testing.T) {
	tr := tinyTrainer(t)
	ctx := context.Background()
	w, _ := tr.Init(ctx, 1)
	if _, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 2}); err != nil {
		t.Fatal(err)
	}
	ck, err := tr.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ddpm.safetensors")
	if err := model.WriteCheckpointFile(path, ck); err != nil {
		t.Fatal(err)
	}
	back, err := model.ReadCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ArchOf(back)
	if err != nil || back.Arch != ArchName || back.Weights.Hash() != ck.Weights.Hash() || back.EMA.Hash() != ck.EMA.Hash() || back.Step != 2 {
		t.Fatalf("round trip: %v %+v", err, back.Arch)
	}
	if _, err := NewModel(a, back.EMA, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := ArchOf(model.Checkpoint{Arch: "cxr-resnet/1"}); !errors.Is(err, model.ErrUnknownArch) {
		t.Fatalf("ArchOf foreign checkpoint: %v", err)
	}
	// A checkpoint claiming a wider network is refused, naming a tensor.
	wider := ck
	wa := tinyConfig().Arch
	wa.BaseChannels = 12
	wider.Config = wa.ArchJSON()
	b, _ := model.EncodeCheckpoint(wider)
	_, err = model.DecodeCheckpoint(b)
	if !errors.Is(err, model.ErrShape) || !strings.Contains(err.Error(), `"conv_in.weight"`) {
		t.Fatalf("wider arch: %v", err)
	}
	badArch := ck
	badArch.Config = []byte(`{"image_size":7}`)
	b, _ = model.EncodeCheckpoint(badArch)
	if _, err := model.DecodeCheckpoint(b); !errors.Is(err, model.ErrConfig) {
		t.Fatalf("bad arch config: %v", err)
	}
}

func TestSamplerBatchIndependence(t *testing.T) {
	cfg := tinyConfig()
	w, _ := cfg.Arch.InitWeights(3)
	// Make the output layer non-zero so samples depend on the network.
	for _, x := range w.Tensors() {
		if strings.HasPrefix(x.Name, "conv_out.") || strings.HasSuffix(x.Name, "conv2.weight") || strings.HasPrefix(x.Name, "mid.attn.proj") {
			for k := range x.Data {
				x.Data[k] = float32(k%7-3) * 0.02
			}
		}
	}
	conds := make([][model.CondDim]float32, 5)
	for i := range conds {
		conds[i][toyLabel] = float32(i % 2)
	}
	seeds := []int64{1, 2, 3, 4, 5}
	for _, g := range []float64{0, 1.5} {
		cfg.Sample.Guidance = g
		all, err := Sample(context.Background(), cfg, w, conds, seeds)
		if err != nil {
			t.Fatal(err)
		}
		one, err := Sample(context.Background(), cfg, w, conds[4:], seeds[4:])
		if err != nil {
			t.Fatal(err)
		}
		for k := range one {
			if math.Abs(float64(one[k]-all[4*64+k])) > 1e-5 {
				t.Fatalf("guidance %v: image 4 differs alone (%v) and in a batch (%v)", g, one[k], all[4*64+k])
			}
		}
	}
}

// TestNetworkGradientByFiniteDifference checks the assembled U-Net's
// gradients (embedding selection by matrix products, skip concatenation,
// attention, shared embedding) against central differences of the loss.
func TestNetworkGradientByFiniteDifference(t *testing.T) {
	cfg := tinyConfig()
	a := cfg.Arch
	w, _ := a.InitWeights(4)
	r := rand.New(rand.NewPCG(1, 2))
	for _, x := range w.Tensors() { // no zero-initialised layer may block the gradient
		for k := range x.Data {
			x.Data[k] += float32(r.NormFloat64() * 0.1)
		}
	}
	const n = 3
	b := graph.NewBuilder(w)
	u, err := buildUNet(b, a, n)
	if err != nil {
		t.Fatal(err)
	}
	target := b.Input("target", n, 1, 8, 8)
	lossNode := b.Op(nn.MSE(u.out, target))
	loss := graph.Read(lossNode)
	prog, err := graph.NewTrainProgram(b, lossNode)
	if err != nil {
		t.Fatal(err)
	}
	in := newNetInputs(a, n)
	tgt := make([]float32, n*64)
	for i := range in.x {
		in.x[i] = float32(r.NormFloat64())
		tgt[i] = float32(r.NormFloat64())
	}
	for k := range n {
		var c [model.CondDim]float32
		c[k] = 1
		in.fill(a, n, k, 100*k+7, &c, k != 1, AnySite) // row 1 uses the null embedding
	}
	run := func() float64 {
		_ = in.let(u)
		_ = graph.Let(target, tgt)
		_ = prog.ZeroGrad()
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		return float64(loss.Scalar())
	}
	run()
	ps, _ := prog.Params()
	grads := map[string][]float32{}
	for _, p := range ps {
		grads[p.Name] = append([]float32(nil), p.Grad...)
	}
	checked := 0
	for _, p := range ps {
		if !strings.HasPrefix(p.Name, "cond.") && !strings.HasPrefix(p.Name, "time.fc1") && p.Name != "conv_in.weight" &&
			!strings.Contains(p.Name, "attn") && !strings.HasPrefix(p.Name, "up.0.res.0.conv1") {
			continue
		}
		for _, k := range []int{0, len(p.Value) / 2, len(p.Value) - 1} {
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
	if checked < 30 {
		t.Fatalf("only %d coordinates checked", checked)
	}
}

func TestConfigValidateAndTOML(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := tinyConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.Arch.ImageSize = 30
	bad.Arch.Groups = 5
	bad.Arch.AttnResolutions = []int{3}
	bad.Train.CondDropProb = 2
	bad.Sample.Steps = 5000
	err := bad.Validate()
	for _, want := range []string{"arch.image_size", "arch.groups", "arch.attn_resolutions[0]", "train.cond_drop_prob", "sample.steps"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem naming %s", err, want)
		}
	}
	var cfg Config = DefaultConfig()
	doc := []byte("[arch]\nbase_channels = 24\n[train]\nbatch_size = 8\n[sample]\nguidance = 1.5\n")
	if err := config.Decode(doc, "ddpm.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Arch.BaseChannels != 24 || cfg.Train.BatchSize != 8 || cfg.Sample.Guidance != 1.5 || cfg.Arch.ImageSize != 32 {
		t.Fatalf("decoded %+v", cfg)
	}
	if err := config.Decode([]byte("[arch]\nbase_chanels = 3\n"), "ddpm.toml", &cfg); err == nil {
		t.Fatal("unknown key accepted")
	}
	if n, _ := DefaultArch().InitWeights(1); n.NumParams() != 388609 {
		t.Errorf("default U-Net has %d parameters, doc says 388609", n.NumParams())
	}
	if n, _ := BenchArch().InitWeights(1); n.NumParams() != 1542145 {
		t.Errorf("bench U-Net has %d parameters, doc says 1542145", n.NumParams())
	}
}

func TestHugeArchRefusedCheaply(t *testing.T) {
	// A checkpoint claiming an enormous network is refused by the bounds
	// or, within them, compared against its specs without allocating them.
	huge := Arch{ImageSize: 4096, InChannels: 1, BaseChannels: 4096, ChannelMults: []int{1, 1}, NumResBlocks: 1, Groups: 1, TimeEmbDim: 64}
	if err := huge.Validate(); err != nil {
		t.Fatal(err)
	}
	ck := model.Checkpoint{Arch: ArchName, Config: huge.ArchJSON(), Weights: model.MustWeights(model.Tensor{Name: "conv_in.weight", Shape: []int{1}, Data: []float32{1}})}
	b, _ := model.EncodeCheckpoint(ck)
	if _, err := model.DecodeCheckpoint(b); !errors.Is(err, model.ErrShape) || !strings.Contains(err.Error(), `"conv_in.weight"`) {
		t.Fatalf("huge arch: %v", err)
	}
	tooBig := huge
	tooBig.BaseChannels = 1 << 20
	if err := tooBig.Validate(); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("width 2^20 accepted: %v", err)
	}
}

// distance is the L2 distance between two weight sets of the same specs.
func distance(a, b model.Weights) float64 {
	var s float64
	for _, x := range a.Tensors() {
		y, _ := b.Get(x.Name)
		for k := range x.Data {
			d := float64(x.Data[k] - y.Data[k])
			s += d * d
		}
	}
	return math.Sqrt(s)
}

// TestWarmupFollowsTheJob: with a warm-up of 1000 steps, round 101 of 4
// local steps runs at about lr*0.4 (steps 401-404 of the job), round 1 at
// lr*0.001-0.004, so round 101 moves the weights about a hundred times as
// far. When the warm-up restarted every round (the old behaviour) both
// rounds moved them alike.
func TestWarmupFollowsTheJob(t *testing.T) {
	ctx := context.Background()
	cfg := tinyConfig()
	cfg.Train.Adam.WarmupSteps = 1000
	moved := func(round int) float64 {
		tr, err := NewTrainer(cfg, toySet(12, 8, 5), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := tr.Init(ctx, 1)
		res, err := tr.Train(ctx, w, model.TrainSpec{LocalSteps: 4, Seed: 3, Round: round})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := tr.rounds.Stepper()
		if got, want := st.upd.Adam.ScheduleStep(), 4*round; got != want {
			t.Fatalf("round %d: schedule at step %d, want %d", round, got, want)
		}
		return distance(res.Weights, w)
	}
	first, late := moved(1), moved(101)
	if !(late > 20*first) {
		t.Fatalf("round 1 moved %v, round 101 %v: the warm-up restarts every round", first, late)
	}
}

// TestKeepMomentsIsReproducible: with KeepMoments a retried round gives
// the first attempt's weights, two sites with the same history agree bit
// for bit, and a site that skipped the previous round starts from zero
// moments (as without KeepMoments).
func TestKeepMomentsIsReproducible(t *testing.T) {
	ctx := context.Background()
	cfg := tinyConfig()
	cfg.Train.KeepMoments = true
	newTr := func(c Config) *Trainer {
		tr, err := NewTrainer(c, toySet(12, 8, 5), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	spec := func(r int) model.TrainSpec { return model.TrainSpec{LocalSteps: 3, Seed: int64(10 + r), Round: r} }
	history := func(tr *Trainer) (model.Weights, model.Weights) {
		w, _ := tr.Init(ctx, 1)
		r1, err := tr.Train(ctx, w, spec(1))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := tr.Train(ctx, r1.Weights, spec(2))
		if err != nil {
			t.Fatal(err)
		}
		return r1.Weights, r2.Weights
	}
	a := newTr(cfg)
	g1, a2 := history(a)
	retry, err := a.Train(ctx, g1, spec(2))
	if err != nil {
		t.Fatal(err)
	}
	_, b2 := history(newTr(cfg))
	if a2.Hash() != retry.Weights.Hash() || a2.Hash() != b2.Hash() {
		t.Fatal("kept moments: a retry or a second site with the same rounds differs")
	}
	skipped, _ := newTr(cfg).Train(ctx, g1, spec(2))
	plain := cfg
	plain.Train.KeepMoments = false
	fresh, _ := newTr(plain).Train(ctx, g1, spec(2))
	if skipped.Weights.Hash() != fresh.Weights.Hash() || skipped.Weights.Hash() == a2.Hash() {
		t.Fatal("a site without round 1 must start round 2 from zero moments, and kept moments must matter")
	}
}
