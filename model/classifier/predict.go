package classifier

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	G "gorgonia.org/gorgonia"
)

// PredictBatch is the batch size Predict runs at.
const PredictBatch = 64

// inferNet is a forward-only network of a fixed batch size.
type inferNet struct {
	u      *net
	prog   *graph.Program
	logits graph.Reader
	feats  graph.Reader
	x      []float32
	// fw runs the net on a device instead of prog, into lg and ft.
	fw     graph.Forward
	lg, ft []float32
}

// Predictor runs one set of weights on image sets, keeping its compiled
// graphs between calls. It is not safe for concurrent use.
type Predictor struct {
	arch  Arch
	w     model.Weights
	batch int
	nets  map[int]*inferNet
	// dev, when set, runs the forward passes on a device.
	dev graph.Device
}

// UseDevice runs the forward passes on dev (nil: the CPU); call it before
// the first prediction. The weights are uploaded at the start of each
// pass over a set.
func (p *Predictor) UseDevice(dev graph.Device) {
	p.dev = dev
	p.nets = map[int]*inferNet{}
}

// NewPredictor binds architecture a to w (used in place: later changes to
// w's values are seen) and runs in batches of at most batch images.
func NewPredictor(a Arch, w model.Weights, batch int) (*Predictor, error) {
	if err := graph.CheckBinding("classifier", ArchName, a, w, batch); err != nil {
		return nil, err
	}
	return &Predictor{arch: a, w: w, batch: batch, nets: map[int]*inferNet{}}, nil
}

func (p *Predictor) net(n int) (*inferNet, error) {
	if f, ok := p.nets[n]; ok {
		return f, nil
	}
	b := graph.NewBuilder(p.w)
	u, err := buildNet(b, p.arch, n)
	if err != nil {
		return nil, err
	}
	a := p.arch
	f := &inferNet{u: u, x: make([]float32, n*a.InChannels*a.ImageSize*a.ImageSize)}
	if p.dev != nil {
		ig, err := graph.NewInferGraph(b, []*G.Node{u.x}, []*G.Node{u.logits, u.feats})
		if err != nil {
			return nil, err
		}
		if f.fw, err = p.dev.CompileInfer(ig); err != nil {
			return nil, fmt.Errorf("classifier: forward on %s: %w", p.dev.Name(), err)
		}
		f.lg, f.ft = make([]float32, u.logits.Shape().TotalSize()), make([]float32, u.feats.Shape().TotalSize())
		runtime.AddCleanup(f, func(fw graph.Forward) { _ = fw.Close() }, f.fw) // a dropped predictor frees its device memory
	} else {
		f.logits, f.feats = graph.Read(u.logits), graph.Read(u.feats)
		prog, err := graph.NewInferProgram(b)
		if err != nil {
			return nil, err
		}
		f.prog = prog
	}
	p.nets[n] = f
	return f, nil
}

// run runs f on its filled input and returns the logits and features.
func (f *inferNet) run() (lg, ft []float32, err error) {
	if f.fw != nil {
		if err := f.fw.Run([][]float32{f.x}, [][]float32{f.lg, f.ft}); err != nil {
			return nil, nil, fmt.Errorf("classifier: forward: %w", err)
		}
		return f.lg, f.ft, nil
	}
	if err := graph.Let(f.u.x, f.x); err != nil {
		return nil, nil, err
	}
	if err := f.prog.Run(); err != nil {
		return nil, nil, fmt.Errorf("classifier: forward: %w", err)
	}
	return f.logits.Value(), f.feats.Value(), nil
}

// forward runs the network over set and calls emit for each image with its
// logits and features (valid only during the call).
func (p *Predictor) forward(ctx context.Context, set *model.ImageSet, emit func(i int, logits, feats []float32)) error {
	return p.forwardBatch(ctx, set, min(p.batch, set.Len()), emit)
}

// forwardBatch is forward through a network of bs images a batch (a
// slice of a larger set runs at the whole set's batch size, so that its
// images score as they would in it).
func (p *Predictor) forwardBatch(ctx context.Context, set *model.ImageSet, bs int, emit func(i int, logits, feats []float32)) error {
	if err := set.Validate(); err != nil {
		return err
	}
	a := p.arch
	if set.Size != a.ImageSize || a.InChannels != 1 {
		return fmt.Errorf("classifier: images %dx%dx1, architecture wants %dx%dx%d: %w", set.Size, set.Size, a.ImageSize, a.ImageSize, a.InChannels, model.ErrShape)
	}
	total := set.Len()
	if total == 0 {
		return nil
	}
	f, err := p.net(bs)
	if err != nil {
		return err
	}
	if f.fw != nil {
		if err := f.fw.Reload(); err != nil {
			return fmt.Errorf("classifier: forward: %w", err)
		}
	}
	px := set.Size * set.Size
	fd := a.FeatureDim()
	for lo := 0; lo < total; lo += bs {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+bs, total)
		for k := range bs {
			src := lo + k
			if src >= hi {
				src = lo // pad a short last batch
			}
			copy(f.x[k*px:(k+1)*px], set.Image(src))
		}
		lg, ft, err := f.run()
		if err != nil {
			return err
		}
		for k := range hi - lo {
			emit(lo+k, lg[k*model.NumLabels:(k+1)*model.NumLabels], ft[k*fd:(k+1)*fd])
		}
	}
	return nil
}

// Predict returns each image's 14 label probabilities and its penultimate
// features (the pooled activations before the head, FeatureDim values).
func (p *Predictor) Predict(ctx context.Context, set *model.ImageSet) (probs [][model.NumLabels]float32, feats [][]float32, err error) {
	probs = make([][model.NumLabels]float32, set.Len())
	feats = make([][]float32, set.Len())
	err = p.forward(ctx, set, func(i int, lg, ft []float32) {
		for j, z := range lg {
			probs[i][j] = sigmoid(z)
		}
		feats[i] = append([]float32(nil), ft...)
	})
	if err != nil {
		return nil, nil, err
	}
	return probs, feats, nil
}

// Predict is the one-call form of NewPredictor(a, w, PredictBatch).Predict.
func Predict(ctx context.Context, a Arch, w model.Weights, set *model.ImageSet) ([][model.NumLabels]float32, [][]float32, error) {
	return PredictOn(ctx, a, w, set, nil)
}

// PredictOn is Predict with the forward passes on dev (nil: the CPU).
func PredictOn(ctx context.Context, a Arch, w model.Weights, set *model.ImageSet, dev graph.Device) ([][model.NumLabels]float32, [][]float32, error) {
	p, err := NewPredictor(a, w, PredictBatch)
	if err != nil {
		return nil, nil, err
	}
	p.UseDevice(dev)
	return p.Predict(ctx, set)
}

func sigmoid(z float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(z))))
}

// bce is the numerically stable binary cross-entropy of logit z against
// target t: max(z,0) - z*t + log(1+exp(-|z|)).
func bce(z, t float64) float64 {
	return math.Max(z, 0) - z*t + math.Log1p(math.Exp(-math.Abs(z)))
}

// Loss returns the masked BCE of the network on set under policy, averaged
// over the entries the policy keeps (synthetic images count with weight
// synth), as the training loss computes it without augmentation.
func (p *Predictor) Loss(ctx context.Context, set *model.ImageSet, policy LabelPolicy, synth float64) (float64, error) {
	var acc lossSum
	err := p.forward(ctx, set, func(i int, lg, _ []float32) {
		acc.add(i, lg, set, i, policy, synth)
	})
	if err != nil {
		return 0, err
	}
	return acc.loss()
}

// lossSum accumulates Loss image by image, so that a set scored in slices
// sums in the same order as one scored whole.
type lossSum struct {
	sum, wsum float64
	err       error
}

// add adds the masked BCE of logits lg for image i of set, which is image
// at of the whole set (named in errors).
func (a *lossSum) add(at int, lg []float32, set *model.ImageSet, i int, policy LabelPolicy, synth float64) {
	tgt, mask, err := policy.Targets(set.Labels[i])
	if err != nil && a.err == nil {
		a.err = fmt.Errorf("image %d: %w", at, err)
	}
	scale := 1.0
	if set.Synthetic != nil && set.Synthetic[i] {
		scale = synth
	}
	for j, z := range lg {
		m := float64(mask[j]) * scale
		a.sum += m * bce(float64(z), float64(tgt[j]))
		a.wsum += m
	}
}

// loss returns the mean over the kept entries (0 when none).
func (a *lossSum) loss() (float64, error) {
	if a.err != nil {
		return 0, a.err
	}
	if a.wsum == 0 {
		return 0, nil
	}
	return a.sum / a.wsum, nil
}
