package ddpm

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
	G "gorgonia.org/gorgonia"
)

// The U-Net, for PyTorch re-implementations (bench/ mirrors it). Names are
// the parameter prefixes; every conv is 3x3 with padding 1 unless noted and
// has a bias; GN is GroupNorm(Groups, C, eps=1e-5).
//
//	temb = time.fc2(SiLU(time.fc1(sinusoid(t, BaseChannels))))      E = TimeEmbDim
//	cemb = cond.fc2(SiLU(cond.fc1(c)))                               c has 22 numbers
//	       [+ onehot(site) @ cond.site]                               with arch.sites (site.go)
//	emb  = temb + keep*cemb + (1-keep)*cond.null                     null: (1,E), learned
//	h = conv_in(x); skips = [h]
//	for level l, width C_l = BaseChannels*ChannelMults[l]:
//	    NumResBlocks x { h = down.l.res.r(h); [down.l.attn.r(h)]; skips += h }
//	    if not last: h = down.l.downsample(h) (3x3, stride 2); skips += h
//	h = mid.res1(h); [mid.attn(h)]; h = mid.res2(h)
//	for level l from last to first:
//	    NumResBlocks+1 x { h = up.l.res.r(cat(h, skips.pop())); [up.l.attn.r(h)] }
//	    if l > 0: h = up.l.upsample(nearest2x(h))
//	out = conv_out(SiLU(GN(h)))   (norm_out, conv_out zero-initialised)
//
//	res(x): h = conv1(SiLU(norm1(x))) + emb_proj(SiLU(emb))[:, :, None, None]
//	        h = conv2(SiLU(norm2(h)))          (conv2 zero-initialised)
//	        return skip(x) + h                 (skip: 1x1 conv when widths differ)
//	attn(x): x + proj(SelfAttention(qkv(norm(x))))  (qkv, proj 1x1; proj zero-init; AttnHeads heads)
//
// The sinusoid is [sin(t*f_k), cos(t*f_k)], f_k = 10000^(-k/(D/2)), k < D/2,
// with t the step index 0..T-1.

// unet holds one built network's input and output nodes.
type unet struct {
	arch Arch
	n    int
	// Inputs: noisy images (N,C,H,W), sinusoidal time features (N,B),
	// conditions (N,22), diag(keep) (N,N) and 1-keep (N,1); with sites,
	// the one-hot site rows (N,Sites+1).
	x, tfeat, cond, keepDiag, dropCol, site *G.Node
	// out is the v-prediction (N,C,H,W).
	out *G.Node
}

// buildUNet adds the U-Net for batch size n to b's graph.
func buildUNet(b *graph.Builder, a Arch, n int) (*unet, error) {
	u := &unet{arch: a, n: n}
	s := a.ImageSize
	u.x = b.Input("x", n, a.InChannels, s, s)
	u.tfeat = b.Input("t_features", n, a.BaseChannels)
	u.cond = b.Input("cond", n, model.CondDim)
	u.keepDiag = b.Input("keep_diag", n, n)
	u.dropCol = b.Input("drop_col", n, 1)
	if a.SiteConditioned() {
		u.site = b.Input("site", n, a.siteRows())
	}
	semb := b.SiLU(u.embedding(b))
	h, ch, skips := u.down(b, semb)
	mid := b.Scope("mid")
	h = resBlock(mid.Scope("res1"), h, semb, ch, ch, a)
	if a.MidAttention {
		h = attnBlock(mid.Scope("attn"), h, ch, a)
	}
	h = resBlock(mid.Scope("res2"), h, semb, ch, ch, a)
	h, ch = u.up(b, h, ch, semb, skips)
	h = b.GroupNorm("norm_out", h, ch, a.Groups, true)
	u.out = b.Conv("conv_out", h, ch, a.InChannels, 3, 1, 1, true, true)
	if err := b.Err(); err != nil {
		return nil, err
	}
	return u, nil
}

// skipStack holds the down path's activations and their widths for the
// up path's concatenations.
type skipStack struct {
	nodes  []*G.Node
	widths []int
}

func (s *skipStack) push(n *G.Node, w int) {
	s.nodes, s.widths = append(s.nodes, n), append(s.widths, w)
}

func (s *skipStack) pop() (*G.Node, int) {
	k := len(s.nodes) - 1
	n, w := s.nodes[k], s.widths[k]
	s.nodes, s.widths = s.nodes[:k], s.widths[:k]
	return n, w
}

// down builds conv_in and the down levels; it returns the last activation,
// its width and the skips.
func (u *unet) down(b *graph.Builder, semb *G.Node) (*G.Node, int, *skipStack) {
	a := u.arch
	h := b.Conv("conv_in", b.Op(nn.NoGrad(u.x)), a.InChannels, a.BaseChannels, 3, 1, 1, true, false)
	skips := &skipStack{}
	ch := a.BaseChannels
	skips.push(h, ch)
	for l, m := range a.ChannelMults {
		lv := b.Scope(fmt.Sprintf("down.%d", l))
		for r := range a.NumResBlocks {
			h = resBlock(lv.Scope(fmt.Sprintf("res.%d", r)), h, semb, ch, a.BaseChannels*m, a)
			ch = a.BaseChannels * m
			if a.attnAt(l) {
				h = attnBlock(lv.Scope(fmt.Sprintf("attn.%d", r)), h, ch, a)
			}
			skips.push(h, ch)
		}
		if l < len(a.ChannelMults)-1 {
			h = lv.Conv("downsample", h, ch, ch, 3, 2, 1, true, false)
			skips.push(h, ch)
		}
	}
	return h, ch, skips
}

// up builds the up levels, consuming every skip.
func (u *unet) up(b *graph.Builder, h *G.Node, ch int, semb *G.Node, skips *skipStack) (*G.Node, int) {
	a := u.arch
	for l := len(a.ChannelMults) - 1; l >= 0; l-- {
		lv := b.Scope(fmt.Sprintf("up.%d", l))
		out := a.BaseChannels * a.ChannelMults[l]
		for r := range a.NumResBlocks + 1 {
			skip, sw := skips.pop()
			if h != nil && skip != nil {
				h = b.Op(nn.ConcatChannels(h, skip))
			}
			h = resBlock(lv.Scope(fmt.Sprintf("res.%d", r)), h, semb, ch+sw, out, a)
			ch = out
			if a.attnAt(l) {
				h = attnBlock(lv.Scope(fmt.Sprintf("attn.%d", r)), h, ch, a)
			}
		}
		if l > 0 {
			if h != nil {
				h = b.Op(nn.Upsample2x(h))
			}
			h = lv.Conv("upsample", h, ch, ch, 3, 1, 1, true, false)
		}
	}
	return h, ch
}

// embedding builds temb + keep*cemb + (1-keep)*null. The masks are
// matrices so that the selection is two matrix products, whose gradients
// gorgonia gets right: diag(keep) @ cemb and (1-keep) @ null.
func (u *unet) embedding(b *graph.Builder) *G.Node {
	a := u.arch
	e := a.TimeEmbDim
	tb := b.Scope("time")
	temb := tb.Linear("fc2", tb.SiLU(tb.Linear("fc1", u.tfeat, a.BaseChannels, e, false)), e, e, false)
	cb := b.Scope("cond")
	cemb := cb.Linear("fc2", cb.SiLU(cb.Linear("fc1", u.cond, model.CondDim, e, false)), e, e, false)
	null := cb.Param("null", []int{1, e}, graph.Init{Kind: graph.InitNormal, Gain: 0.02})
	if temb == nil || cemb == nil {
		return nil
	}
	if a.SiteConditioned() {
		table := cb.Param("site", []int{a.siteRows(), e}, graph.Init{Kind: graph.InitNormal, Gain: 0.02})
		if cemb = b.Op(G.Add(cemb, b.Op(G.Mul(u.site, table)))); cemb == nil {
			return nil
		}
	}
	kept := b.Op(G.Mul(u.keepDiag, cemb))
	nulls := b.Op(G.Mul(u.dropCol, null))
	if kept == nil || nulls == nil {
		return nil
	}
	sum := b.Op(G.Add(temb, kept))
	if sum == nil {
		return nil
	}
	return b.Op(G.Add(sum, nulls))
}

// attnAt reports whether level l's resolution gets attention.
func (a Arch) attnAt(l int) bool {
	for _, r := range a.AttnResolutions {
		if r == a.ImageSize>>l {
			return true
		}
	}
	return false
}

// resBlock is the DDPM residual block with the embedding added after conv1.
func resBlock(b *graph.Builder, x, semb *G.Node, cin, cout int, a Arch) *G.Node {
	h := b.GroupNorm("norm1", x, cin, a.Groups, true)
	h = b.Conv("conv1", h, cin, cout, 3, 1, 1, true, false)
	ep := b.Linear("emb_proj", semb, a.TimeEmbDim, cout, false)
	if h != nil && ep != nil {
		h = b.Op(nn.ChannelAdd(h, ep))
	}
	h = b.GroupNorm("norm2", h, cout, a.Groups, true)
	h = b.Conv("conv2", h, cout, cout, 3, 1, 1, true, true)
	skip := x
	if cin != cout {
		skip = b.Conv("skip", x, cin, cout, 1, 1, 0, true, false)
	}
	if h == nil || skip == nil {
		return nil
	}
	return b.Op(nn.Add(skip, h))
}

// heads returns the number of attention heads.
func (a Arch) heads() int { return max(a.AttnHeads, 1) }

// attnBlock is multi-head (Arch.AttnHeads) self-attention over the
// feature map's positions.
func attnBlock(b *graph.Builder, x *G.Node, c int, a Arch) *G.Node {
	h := b.GroupNorm("norm", x, c, a.Groups, false)
	qkv := b.Conv("qkv", h, c, 3*c, 1, 1, 0, true, false)
	if qkv != nil {
		h = b.Op(nn.SelfAttention2D(qkv, a.heads()))
	} else {
		h = nil
	}
	h = b.Conv("proj", h, c, c, 1, 1, 0, true, true)
	if h == nil || x == nil {
		return nil
	}
	return b.Op(nn.Add(x, h))
}

// TimeFeatures writes the sinusoidal features of step index t into dst,
// whose length D is even: [sin(t*f_k)..., cos(t*f_k)...], f_k = 10000^(-k/(D/2)).
func TimeFeatures(dst []float32, t int) {
	half := len(dst) / 2
	for k := range half {
		f := math.Exp(-math.Log(10000) * float64(k) / float64(half))
		dst[k] = float32(math.Sin(float64(t) * f))
		dst[half+k] = float32(math.Cos(float64(t) * f))
	}
}

// recipe is how architecture a yields its tensors (graph.Recipe).
func (a Arch) recipe() graph.Recipe {
	return graph.Recipe{Validate: a.Validate, Build: func(b *graph.Builder) error {
		_, err := buildUNet(b, a, 1)
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
