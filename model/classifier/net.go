package classifier

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
	G "gorgonia.org/gorgonia"
)

// The network, for PyTorch re-implementations (bench/ mirrors it). Every
// conv has a bias; GN is GroupNorm(Groups, C, eps=1e-5):
//
//	h = stem(x)                                       3x3, InChannels -> Widths[0]
//	for stage s, block b: h = stage.s.block.b(h)     first block of s > 0 has stride 2
//	feats = GlobalAvgPool(SiLU(norm_out(h)))          (N, Widths[last]): the penultimate features
//	logits = head(feats)                              Linear(Widths[last], 14)
//
//	block(x): h = conv1(SiLU(norm1(x)))               3x3, stride 1 or 2
//	          h = conv2(SiLU(norm2(h)))               3x3
//	          return skip(x) + h                      skip: 1x1 conv (same stride) when the shape changes

// net holds one built network's nodes.
type net struct {
	arch   Arch
	n      int
	x      *G.Node // (N, C, H, W)
	feats  *G.Node // (N, Widths[last])
	logits *G.Node // (N, 14)
}

// buildNet adds the classifier for batch size n to b's graph.
func buildNet(b *graph.Builder, a Arch, n int) (*net, error) {
	u := &net{arch: a, n: n}
	u.x = b.Input("x", n, a.InChannels, a.ImageSize, a.ImageSize)
	h := b.Conv("stem", b.Op(nn.NoGrad(u.x)), a.InChannels, a.Widths[0], 3, 1, 1, true, false)
	ch := a.Widths[0]
	for s, w := range a.Widths {
		for k := range a.BlocksPerStage {
			stride := 1
			if s > 0 && k == 0 {
				stride = 2
			}
			h = block(b.Scope(fmt.Sprintf("stage.%d.block.%d", s, k)), h, ch, w, stride, a.Groups)
			ch = w
		}
	}
	h = b.GroupNorm("norm_out", h, ch, a.Groups, true)
	if h != nil {
		u.feats = b.Op(nn.GlobalAvgPool(h))
	}
	u.logits = b.Linear("head", u.feats, ch, model.NumLabels, false)
	if err := b.Err(); err != nil {
		return nil, err
	}
	return u, nil
}

// block is a pre-activation residual block.
func block(b *graph.Builder, x *G.Node, cin, cout, stride, groups int) *G.Node {
	h := b.GroupNorm("norm1", x, cin, groups, true)
	h = b.Conv("conv1", h, cin, cout, 3, stride, 1, true, false)
	h = b.GroupNorm("norm2", h, cout, groups, true)
	h = b.Conv("conv2", h, cout, cout, 3, 1, 1, true, false)
	skip := x
	if cin != cout || stride != 1 {
		skip = b.Conv("skip", x, cin, cout, 1, stride, 0, true, false)
	}
	if h == nil || skip == nil {
		return nil
	}
	return b.Op(nn.Add(skip, h))
}

// FeatureDim returns the length of the penultimate feature vector.
func (a Arch) FeatureDim() int { return a.Widths[len(a.Widths)-1] }

// recipe is how architecture a yields its tensors (graph.Recipe).
func (a Arch) recipe() graph.Recipe {
	return graph.Recipe{Validate: a.Validate, Build: func(b *graph.Builder) error {
		_, err := buildNet(b, a, 1)
		return err
	}}
}

// Specs returns the tensors of architecture a, sorted by name.
func (a Arch) Specs() ([]model.TensorSpec, error) { return a.recipe().Specs() }

// Footprint returns the parameter count and per-image activations of
// architecture a, for device memory estimates.
func (a Arch) Footprint() (graph.Footprint, error) { return a.recipe().Footprint() }

// InitWeights returns freshly initialised weights of architecture a.
func (a Arch) InitWeights(seed int64) (model.Weights, error) { return a.recipe().InitWeights(seed) }

func init() {
	graph.RegisterArch(ArchName, func(cfg []byte) (graph.Recipe, error) {
		a, err := ParseArch(cfg)
		return a.recipe(), err
	})
}
