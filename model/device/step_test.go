package device

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
	"github.com/synthfed/synthfed/model/nn"
)

// imageSet returns n random images of size s with random conditions and
// 0/1 labels.
func imageSet(n, s int, seed uint64) *model.ImageSet {
	r := rand.New(rand.NewPCG(seed, 3))
	set := &model.ImageSet{Size: s, Pixels: make([]float32, n*s*s), Cond: make([][model.CondDim]float32, n), Labels: make([][model.NumLabels]model.Label, n)}
	for i := range set.Pixels {
		set.Pixels[i] = float32(r.Float64()*2 - 1)
	}
	for i := range n {
		for j := range model.NumLabels {
			set.Labels[i][j] = model.Label(r.IntN(2))
			set.Cond[i][8+j] = float32(set.Labels[i][j])
		}
		set.Cond[i][0], set.Cond[i][1+r.IntN(2)], set.Cond[i][3+r.IntN(5)] = float32(r.IntN(9)), 1, 1
	}
	return set
}

// trainBoth trains two trainers built by build, one with model/nn's
// kernels on the device and one on the CPU, from the same weights and
// spec, and returns both results.
func trainBoth(t *testing.T, dev *Kernels, build func() (model.Trainer, error), spec model.TrainSpec) (d, c model.TrainResult) {
	t.Helper()
	ctx := context.Background()
	run := func(k nn.Kernels) model.TrainResult {
		nn.UseKernels(k)
		defer nn.UseKernels(nn.CPU())
		tr, err := build()
		if err != nil {
			t.Fatal(err)
		}
		w, err := tr.Init(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Train(ctx, w, spec)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	d, c = run(dev), run(nn.CPU())
	if err := dev.Err(); err != nil {
		t.Fatalf("a device kernel fell back to the CPU: %v", err)
	}
	return d, c
}

// sameStep compares two training results. The loss must agree to 1e-4
// relative. Adam's first steps move each weight by about lr*sign(g), so a
// weight whose gradient is within float32 rounding of 0 may move the other
// way on the device: every weight must agree to 2.5*lr, and 99.5% of them to
// 1e-3*lr plus 1e-6 of their value.
func sameStep(t *testing.T, name string, d, c model.TrainResult, lr float64) {
	t.Helper()
	if dl, cl := d.Metrics["loss"], c.Metrics["loss"]; !(math.Abs(dl-cl) <= 1e-4*math.Abs(cl)) {
		t.Fatalf("%s: loss on the device %v, on the CPU %v", name, dl, cl)
	}
	var n, off int
	for _, ct := range c.Weights.Tensors() {
		dt, ok := d.Weights.Get(ct.Name)
		if !ok {
			t.Fatalf("%s: device weights lack %s", name, ct.Name)
		}
		for i, v := range ct.Data {
			diff := math.Abs(float64(dt.Data[i] - v))
			if diff > 2.5*lr {
				t.Fatalf("%s: %s[%d] = %v on the device, %v on the CPU", name, ct.Name, i, dt.Data[i], v)
			}
			n++
			if diff > 1e-3*lr+1e-6*math.Abs(float64(v)) {
				off++
			}
		}
	}
	if float64(off) > 0.005*float64(n) {
		t.Fatalf("%s: %d of %d weights differ by more than 1e-3 lr", name, off, n)
	}
	t.Logf("%s: loss %.6f (device) %.6f (CPU); %d of %d weights beyond 1e-3 lr", name, d.Metrics["loss"], c.Metrics["loss"], off, n)
}

// TestDDPMStepOnDeviceKernels runs three training steps of a small
// conditional U-Net (convolutions, GroupNorm+SiLU, attention at 4x4 and in
// the middle, upsampling, skip concatenations, MSE on v) with every model/nn
// kernel on the device, against the CPU kernels.
func TestDDPMStepOnDeviceKernels(t *testing.T) {
	dev := testKernels(t)
	cfg := ddpm.DefaultConfig()
	cfg.Arch = ddpm.Arch{ImageSize: 8, InChannels: 1, BaseChannels: 8, ChannelMults: []int{1, 2}, NumResBlocks: 1, Groups: 4,
		TimeEmbDim: 16, AttnResolutions: []int{4}, MidAttention: true, AttnHeads: 2}
	cfg.Train.BatchSize, cfg.Train.Adam.WarmupSteps, cfg.Train.Adam.LR = 4, 0, 1e-3
	train := imageSet(12, 8, 1)
	d, c := trainBoth(t, dev, func() (model.Trainer, error) { return ddpm.NewTrainer(cfg, train, nil, nil) },
		model.TrainSpec{LocalSteps: 3, Seed: 7, Round: 1})
	sameStep(t, "ddpm", d, c, cfg.Train.Adam.LR)
}

// TestClassifierStepOnDeviceKernels does the same for the classifier
// (strided convolutions, GroupNorm, pooling, linear head, masked BCE).
func TestClassifierStepOnDeviceKernels(t *testing.T) {
	dev := testKernels(t)
	cfg := classifier.DefaultConfig()
	cfg.Arch = classifier.Arch{ImageSize: 8, InChannels: 1, Widths: []int{8, 16}, BlocksPerStage: 1, Groups: 4}
	cfg.Train.BatchSize, cfg.Train.Adam.WarmupSteps = 4, 0
	cfg.Train.Augment = classifier.AugmentConfig{}
	train := imageSet(12, 8, 2)
	d, c := trainBoth(t, dev, func() (model.Trainer, error) { return classifier.NewTrainer(cfg, train, nil, nil) },
		model.TrainSpec{LocalSteps: 3, Seed: 7, Round: 1})
	sameStep(t, "classifier", d, c, cfg.Train.Adam.LR)
}
