package device

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// residentTrainer is a model.Trainer that can move its steps to a device.
type residentTrainer interface {
	model.Trainer
	UseDevice(graph.Device)
	EMA() model.Weights
}

// trainRounds trains two trainers built by build, one resident on the
// device and one on the CPU, from the same weights through the same
// rounds, and compares the results and the EMA after each round.
func trainRounds(t *testing.T, name string, build func() (residentTrainer, error), lr float64, specs ...model.TrainSpec) {
	t.Helper()
	ctx := context.Background()
	dev, cpu := mustBuild(t, build), mustBuild(t, build)
	dev.UseDevice(poclBackend(t))
	w, err := cpu.Init(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		d, err := dev.Train(ctx, w, spec)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cpu.Train(ctx, w, spec)
		if err != nil {
			t.Fatal(err)
		}
		sameStep(t, name, d, c, lr)
		sameWeights(t, name+" EMA", dev.EMA(), cpu.EMA(), lr)
		w = c.Weights
	}
}

func mustBuild(t *testing.T, build func() (residentTrainer, error)) residentTrainer {
	t.Helper()
	tr, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// sameWeights applies sameStep's bound on the weights to two weight sets.
func sameWeights(t *testing.T, name string, d, c model.Weights, lr float64) {
	t.Helper()
	sameStep(t, name, model.TrainResult{Weights: d, Metrics: map[string]float64{"loss": 1}},
		model.TrainResult{Weights: c, Metrics: map[string]float64{"loss": 1}}, lr)
}

// TestResidentDDPMStepMatchesCPU trains a small site-conditioned U-Net
// (attention with 2 heads at 4x4 and in the middle) resident on the
// device against the CPU path: a round of 3 steps, then a round of 2 with
// FedProx and the moments carried over. The loss must agree to 1e-4
// relative and the weights and the EMA within sameStep's bound.
func TestResidentDDPMStepMatchesCPU(t *testing.T) {
	poclBackend(t)
	cfg := ddpm.DefaultConfig()
	cfg.Arch = ddpm.Arch{ImageSize: 8, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4,
		TimeEmbDim: 16, AttnResolutions: []int{4}, MidAttention: true, AttnHeads: 2, Sites: []string{"a", "b"}}
	cfg.Train.BatchSize, cfg.Train.Adam.WarmupSteps, cfg.Train.Adam.LR, cfg.Train.KeepMoments = 4, 0, 1e-3, true
	train := imageSet(12, 8, 1)
	trainRounds(t, "ddpm", func() (residentTrainer, error) {
		tr, err := ddpm.NewTrainer(cfg, train, nil, nil)
		if err == nil {
			err = tr.SetSite(1)
		}
		return tr, err
	}, cfg.Train.Adam.LR,
		model.TrainSpec{LocalSteps: 3, Seed: 7, Round: 1},
		model.TrainSpec{LocalSteps: 2, Seed: 7, Round: 2, ProxMu: 0.5})
}

// TestResidentClassifierStepMatchesCPU does the same for the classifier
// (strided convolutions, GroupNorm, pooling, the linear head, masked BCE),
// with a local-only norm layer exempt from the proximal term.
func TestResidentClassifierStepMatchesCPU(t *testing.T) {
	poclBackend(t)
	cfg := classifier.DefaultConfig()
	cfg.Arch = classifier.Arch{ImageSize: 8, InChannels: 1, Widths: []int{8, 16}, BlocksPerStage: 1, Groups: 4}
	cfg.Train.BatchSize, cfg.Train.Adam.WarmupSteps = 4, 0
	cfg.Train.Augment = classifier.AugmentConfig{}
	train := imageSet(12, 8, 2)
	trainRounds(t, "classifier", func() (residentTrainer, error) { return classifier.NewTrainer(cfg, train, nil, nil) },
		cfg.Train.Adam.LR,
		model.TrainSpec{LocalSteps: 3, Seed: 7, Round: 1},
		model.TrainSpec{LocalSteps: 2, Seed: 7, Round: 2, ProxMu: 0.5, Params: map[string]string{"local_only": "*norm*"}})
}

// closeTo fails when got and want differ beyond 1e-4 of the value plus
// 1e-5 of want's largest magnitude (matches' bound).
func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	var big float64
	for _, v := range want {
		big = max(big, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*math.Abs(float64(want[i]))+1e-5*big) {
			t.Fatalf("%s[%d] = %v on the device, %v on the CPU", what, i, got[i], want[i])
		}
	}
}

// TestResidentForwardMatchesCPU runs the forward passes on the device:
// the classifier's logits and features and the U-Net's v-prediction,
// against the CPU, with a short last batch.
func TestResidentForwardMatchesCPU(t *testing.T) {
	b := poclBackend(t)
	ctx := context.Background()
	ca := classifier.Arch{ImageSize: 8, InChannels: 1, Widths: []int{8, 16}, BlocksPerStage: 1, Groups: 4}
	cw, err := ca.InitWeights(3)
	if err != nil {
		t.Fatal(err)
	}
	set := imageSet(7, 8, 4)
	var logits [2][][]float32
	for i, dev := range []graph.Device{b, nil} {
		p, err := classifier.NewPredictor(ca, cw, 4)
		if err != nil {
			t.Fatal(err)
		}
		p.UseDevice(dev)
		probs, _, err := p.Predict(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range probs {
			logits[i] = append(logits[i], r[:])
		}
	}
	for k := range logits[1] {
		closeTo(t, "classifier probabilities", logits[0][k], logits[1][k])
	}
	a := ddpm.Arch{ImageSize: 8, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4,
		TimeEmbDim: 16, AttnResolutions: []int{4}, MidAttention: true, AttnHeads: 2}
	dw, err := a.InitWeights(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range dw.Tensors() { // the zero-initialised output layers would hide everything
		for i := range tn.Data {
			if tn.Data[i] == 0 {
				tn.Data[i] = 0.05 * float32(i%7-3)
			}
		}
	}
	n := 5
	x, ts, null := set.Pixels[:n*64], []int{0, 10, 500, 900, 999}, []bool{false, true, false, false, true}
	var outs [2][]float32
	for i, dev := range []graph.Device{b, nil} {
		m, err := ddpm.NewModel(a, dw, 4)
		if err != nil {
			t.Fatal(err)
		}
		m.UseDevice(dev)
		outs[i] = make([]float32, n*64)
		if err := m.PredictV(ctx, outs[i], x, ts, set.Cond[:n], null); err != nil {
			t.Fatal(err)
		}
	}
	closeTo(t, "ddpm v", outs[0], outs[1])
}

// TestResidentRefusesUnknownOps checks that a graph with ops that have no
// device kernel (gorgonia's transpose and elementwise product) and an
// input left unbound is refused at compile time, every problem named.
func TestResidentRefusesUnknownOps(t *testing.T) {
	b := poclBackend(t)
	w, err := model.NewWeights(model.Tensor{Name: "w", Shape: []int{3, 4}, Data: make([]float32, 12)})
	if err != nil {
		t.Fatal(err)
	}
	gb := graph.NewBuilder(w)
	x := gb.Input("x", 2, 4)
	wn := gb.Param("w", []int{3, 4}, graph.Zeros())
	y := gb.Op(G.HadamardProd(gb.Op(G.Mul(x, gb.Op(G.Transpose(wn)))), gb.Input("m", 2, 3)))
	ig, err := graph.NewInferGraph(gb, []*G.Node{x}, []*G.Node{y})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.CompileInfer(ig)
	if !errors.Is(err, ErrUnsupportedOp) {
		t.Fatalf("compile with unknown ops: %v", err)
	}
	for _, want := range []string{"Aᵀ", "node m is an unbound leaf", `op "⊙ false"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestResidentSamplingMatchesCPU samples with the images resident on the
// device (U-Net, guidance with rescale, the DDIM and DDPM updates there)
// and on the CPU, from the same weights and seeds: the images agree to
// 1e-3 (float32 rounding through a few steps of a random network), and a
// batch split in two (a short last batch) gives the same images.
func TestResidentSamplingMatchesCPU(t *testing.T) {
	b := poclBackend(t)
	cfg := ddpm.DefaultConfig()
	cfg.Arch = ddpm.Arch{ImageSize: 8, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4,
		TimeEmbDim: 16, AttnResolutions: []int{4}, AttnHeads: 2}
	w, err := cfg.Arch.InitWeights(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range w.Tensors() {
		for i := range tn.Data {
			if tn.Data[i] == 0 {
				tn.Data[i] = 0.05 * float32(i%7-3)
			}
		}
	}
	set := imageSet(5, 8, 6)
	seeds := []int64{1, 2, 3, 4, 5}
	for _, sc := range []ddpm.SampleConfig{
		{Method: ddpm.MethodDDIM, Steps: 4, Guidance: 1.5, GuidanceRescale: 0.7, ClipX0: true, BatchSize: 3},
		{Method: ddpm.MethodDDPM, Steps: 3, ClipX0: true, BatchSize: 5},
	} {
		cfg.Sample = sc
		var got [2][]float32
		for i, dev := range []graph.Device{b, nil} {
			s, err := ddpm.NewSampler(cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			s.UseDevice(dev)
			if got[i], err = s.Sample(context.Background(), set.Cond, seeds); err != nil {
				t.Fatal(err)
			}
		}
		for k := range got[1] {
			if d := math.Abs(float64(got[0][k] - got[1][k])); !(d <= 1e-3) {
				t.Fatalf("%s: pixel %d = %v on the device, %v on the CPU", sc.Method, k, got[0][k], got[1][k])
			}
		}
	}
}

// TestResidentStepsShareADevice runs two resident DDPM steppers at once
// on one device (sites sharing a GPU) and checks that each gets exactly
// the losses and weights it gets alone: the programs share the kernels,
// the queue and the scratch buffers, never a value.
func TestResidentStepsShareADevice(t *testing.T) {
	b := poclBackend(t)
	cfg := ddpm.DefaultConfig()
	cfg.Arch = ddpm.Arch{ImageSize: 8, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4,
		TimeEmbDim: 16, AttnResolutions: []int{4}, AttnHeads: 2}
	cfg.Train.BatchSize = 4
	w0, err := cfg.Arch.InitWeights(2)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		losses []float64
		w      model.Weights
		err    error
	}
	run := func(k int) result {
		st, err := ddpm.NewStepperOn(cfg, w0.Clone(), int64(k), b)
		if err != nil {
			return result{err: err}
		}
		defer st.Close()
		set := imageSet(4, 8, uint64(10+k))
		var r result
		for range 3 {
			l, err := st.Step(set.Pixels, set.Cond)
			if err != nil {
				return result{err: err}
			}
			r.losses = append(r.losses, l)
		}
		r.w, r.err = st.Weights().Clone(), st.Sync()
		return r
	}
	alone := []result{run(0), run(1)}
	var both [2]result
	done := make(chan int)
	for k := range 2 {
		go func() { both[k] = run(k); done <- k }()
	}
	<-done
	<-done
	for k := range 2 {
		a, c := alone[k], both[k]
		if a.err != nil || c.err != nil {
			t.Fatalf("stepper %d: %v, %v", k, a.err, c.err)
		}
		if !slices.Equal(a.losses, c.losses) {
			t.Errorf("stepper %d: losses %v alone, %v sharing the device", k, a.losses, c.losses)
		}
		for _, at := range a.w.Tensors() {
			ct, _ := c.w.Get(at.Name)
			if !slices.Equal(at.Data, ct.Data) {
				t.Fatalf("stepper %d: %s differs when sharing the device", k, at.Name)
			}
		}
	}
}

// TestResidentFitMatchesCPU runs the classifier's non-federated Fit (with
// validation checks, which sync the EMA from the device) resident on the
// device and on the CPU: the validation history and the best weights
// agree.
func TestResidentFitMatchesCPU(t *testing.T) {
	b := poclBackend(t)
	cfg := classifier.DefaultConfig()
	cfg.Arch = classifier.Arch{ImageSize: 8, InChannels: 1, Widths: []int{8}, BlocksPerStage: 1, Groups: 4}
	cfg.Train.BatchSize, cfg.Train.Adam.WarmupSteps, cfg.Train.MaxSteps, cfg.Train.EvalEvery = 4, 0, 4, 2
	cfg.Train.Augment = classifier.AugmentConfig{}
	train, val := imageSet(12, 8, 8), imageSet(6, 8, 9)
	var res [2]classifier.FitResult
	for i, dev := range []graph.Device{b, nil} {
		r, err := classifier.FitOn(context.Background(), cfg, train, val, 3, nil, dev)
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r
	}
	if len(res[0].History) != len(res[1].History) || res[0].BestStep != res[1].BestStep {
		t.Fatalf("history %+v on the device, %+v on the CPU", res[0].History, res[1].History)
	}
	for k, h := range res[1].History {
		if d := res[0].History[k]; math.Abs(d.ValLoss-h.ValLoss) > 1e-4*math.Abs(h.ValLoss) || math.Abs(d.TrainLoss-h.TrainLoss) > 1e-4*math.Abs(h.TrainLoss) {
			t.Fatalf("check %d: %+v on the device, %+v on the CPU", k, d, h)
		}
	}
	sameWeights(t, "fit best", res[0].Weights, res[1].Weights, cfg.Train.Adam.LR)
	sameWeights(t, "fit raw", res[0].Raw, res[1].Raw, cfg.Train.Adam.LR)
}

// TestProgramSharesBuffers checks the liveness plan on a small CNN's
// training program (six conv blocks with GroupNorm+SiLU, pooling, a linear
// head, MSE): values whose lifetimes do not overlap share buffers, so the
// program holds well under the sum of its values (54% here: the forward
// values live until the backward pass reads them).
func TestProgramSharesBuffers(t *testing.T) {
	b := poclBackend(t)
	build := func(gb *graph.Builder) (*G.Node, []*G.Node) {
		x := gb.Input("x", 4, 1, 8, 8)
		h := x
		for i, c := range []int{1, 8, 8, 8, 8, 8} {
			s := gb.Scope(fmt.Sprintf("block%d", i))
			h = s.GroupNorm("norm", s.Conv("conv", h, c, 8, 3, 1, 1, true, false), 8, 4, true)
		}
		f := gb.Op(nn.GlobalAvgPool(h))
		y := gb.Linear("head", f, 8, 3, false)
		t := gb.Input("t", 4, 3)
		return gb.Op(nn.MSE(y, t)), []*G.Node{x, t}
	}
	spec := graph.NewSpecBuilder()
	build(spec)
	w, err := graph.InitWeights(spec.Params(), 1)
	if err != nil {
		t.Fatal(err)
	}
	gb := graph.NewBuilder(w)
	loss, inputs := build(gb)
	tg, err := graph.NewTrainGraph(gb, loss, optim.DefaultAdamConfig(), inputs...)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewTrainStep(b.Ops(), tg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var all int64 // the values the program allocates (not the flat parameters and gradients)
	for _, buf := range st.prog.store {
		if buf != nil && !slices.Contains(st.subs, buf) {
			all += int64(buf.Len()) * 4
		}
	}
	if got := st.prog.Bytes(); !(float64(got) < 0.7*float64(all)) {
		t.Fatalf("program buffers of %d bytes for %d bytes of values: too little sharing", got, all)
	}
	t.Logf("program buffers of %d bytes for %d bytes of values", st.prog.Bytes(), all)
}
