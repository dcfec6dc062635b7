package ddpm

import (
	"context"
	"fmt"
	"runtime"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	G "gorgonia.org/gorgonia"
)

// netInputs are the host buffers behind a U-Net's input nodes.
type netInputs struct {
	x, tfeat, cond, keepDiag, dropCol, site []float32
}

func newNetInputs(a Arch, n int) *netInputs {
	return &netInputs{
		x:        make([]float32, n*a.InChannels*a.ImageSize*a.ImageSize),
		tfeat:    make([]float32, n*a.BaseChannels),
		cond:     make([]float32, n*model.CondDim),
		keepDiag: make([]float32, n*n),
		dropCol:  make([]float32, n),
		site:     make([]float32, n*a.siteRows()),
	}
}

// fill sets row k's time features, condition, keep flag and (with sites)
// site index.
func (in *netInputs) fill(a Arch, n, k, t int, cond *[model.CondDim]float32, keep bool, site int) {
	TimeFeatures(in.tfeat[k*a.BaseChannels:(k+1)*a.BaseChannels], t)
	copy(in.cond[k*model.CondDim:(k+1)*model.CondDim], cond[:])
	in.keepDiag[k*n+k], in.dropCol[k] = 0, 1
	if keep {
		in.keepDiag[k*n+k], in.dropCol[k] = 1, 0
	}
	if rows := a.siteRows(); rows > 0 {
		row := in.site[k*rows : (k+1)*rows]
		clear(row)
		row[a.siteRow(site)] = 1
	}
}

// let binds the buffers to the network's input nodes.
func (in *netInputs) let(u *unet) error {
	if err := graph.Let(u.x, in.x); err != nil {
		return err
	}
	if err := graph.Let(u.tfeat, in.tfeat); err != nil {
		return err
	}
	if err := graph.Let(u.cond, in.cond); err != nil {
		return err
	}
	if err := graph.Let(u.keepDiag, in.keepDiag); err != nil {
		return err
	}
	if u.site != nil {
		if err := graph.Let(u.site, in.site); err != nil {
			return err
		}
	}
	return graph.Let(u.dropCol, in.dropCol)
}

// inputs returns the U-Net's input nodes in the order values returns
// their buffers.
func (u *unet) inputs() []*G.Node {
	ns := []*G.Node{u.x, u.tfeat, u.cond, u.keepDiag, u.dropCol}
	if u.site != nil {
		ns = append(ns, u.site)
	}
	return ns
}

// values returns the buffers of u's inputs, in the order of u.inputs.
func (in *netInputs) values(u *unet) [][]float32 {
	vs := [][]float32{in.x, in.tfeat, in.cond, in.keepDiag, in.dropCol}
	if u.site != nil {
		vs = append(vs, in.site)
	}
	return vs
}

// inferNet is a forward-only U-Net of a fixed batch size.
type inferNet struct {
	u    *unet
	prog *graph.Program
	out  graph.Reader
	in   *netInputs
	// fw runs the net on a device instead of prog, into outBuf.
	fw     graph.Forward
	outBuf []float32
	// epoch is the Model's epoch of fw's last weight upload.
	epoch int
}

// Model is a U-Net bound to one set of weights, with a compiled forward
// graph per batch size. It implements Denoiser. A Model is not safe for
// concurrent use.
type Model struct {
	arch     Arch
	w        model.Weights
	maxBatch int
	nets     map[int]*inferNet
	// site is the site index every prediction is conditioned on (AnySite
	// until SetSite; ignored without arch.sites).
	site int
	// dev, when set, runs the forward passes on a device; epoch counts
	// SampleWith calls, each of which uploads the weights once.
	dev   graph.Device
	epoch int
}

// UseDevice runs the model's forward passes on dev (nil: the CPU); call
// it before the first prediction. The weights are uploaded at the start
// of each PredictV call.
func (m *Model) UseDevice(dev graph.Device) {
	m.dev = dev
	m.nets = map[int]*inferNet{}
}

// SetSite conditions the following predictions on site index k (an index
// of Arch.Sites, or AnySite for the sites' mixture).
func (m *Model) SetSite(k int) error {
	if err := m.arch.checkSite(k); err != nil {
		return err
	}
	m.site = k
	return nil
}

// NewModel binds architecture a to w (used in place, not copied: later
// changes to w's values are seen by the model). Forward passes run in
// batches of at most maxBatch images.
func NewModel(a Arch, w model.Weights, maxBatch int) (*Model, error) {
	if err := graph.CheckBinding("ddpm", ArchName, a, w, maxBatch); err != nil {
		return nil, err
	}
	return &Model{arch: a, w: w, maxBatch: maxBatch, nets: map[int]*inferNet{}, site: AnySite}, nil
}

// net returns the forward graph for batch size n, building it once.
func (m *Model) net(n int) (*inferNet, error) {
	if f, ok := m.nets[n]; ok {
		return f, nil
	}
	b := graph.NewBuilder(m.w)
	u, err := buildUNet(b, m.arch, n)
	if err != nil {
		return nil, err
	}
	f := &inferNet{u: u, in: newNetInputs(m.arch, n)}
	if m.dev != nil {
		ig, err := graph.NewInferGraph(b, u.inputs(), []*G.Node{u.out})
		if err != nil {
			return nil, err
		}
		if f.fw, err = m.dev.CompileInfer(ig); err != nil {
			return nil, fmt.Errorf("ddpm: forward on %s: %w", m.dev.Name(), err)
		}
		f.outBuf = make([]float32, u.out.Shape().TotalSize())
		runtime.AddCleanup(f, func(fw graph.Forward) { _ = fw.Close() }, f.fw)
	} else {
		f.out = graph.Read(u.out)
		prog, err := graph.NewInferProgram(b)
		if err != nil {
			return nil, err
		}
		f.prog = prog
	}
	m.nets[n] = f
	return f, nil
}

// run runs f on its filled inputs and returns the output.
func (f *inferNet) run() ([]float32, error) {
	if f.fw != nil {
		if err := f.fw.Run(f.in.values(f.u), [][]float32{f.outBuf}); err != nil {
			return nil, fmt.Errorf("ddpm: forward: %w", err)
		}
		return f.outBuf, nil
	}
	if err := f.in.let(f.u); err != nil {
		return nil, err
	}
	if err := f.prog.Run(); err != nil {
		return nil, fmt.Errorf("ddpm: forward: %w", err)
	}
	return f.out.Value(), nil
}

// PredictV runs the U-Net on len(t) images, in chunks of the model's batch
// size; a short last chunk is padded by repeating its first image.
func (m *Model) PredictV(ctx context.Context, out, x []float32, t []int, cond [][model.CondDim]float32, null []bool) error {
	a := m.arch
	px := a.InChannels * a.ImageSize * a.ImageSize
	total := len(t)
	if len(x) != total*px || len(out) != total*px || len(cond) != total || len(null) != total {
		return fmt.Errorf("ddpm: predict %d images: x %d, out %d values (want %d each), %d conds, %d null flags: %w",
			total, len(x), len(out), total*px, len(cond), len(null), model.ErrShape)
	}
	bs := min(m.maxBatch, total)
	f, err := m.net(bs)
	if err != nil {
		return err
	}
	if f.fw != nil {
		if err := f.fw.Reload(); err != nil {
			return fmt.Errorf("ddpm: forward: %w", err)
		}
	}
	for lo := 0; lo < total; lo += bs {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+bs, total)
		for k := range bs {
			src := lo + k
			if src >= hi {
				src = lo
			}
			copy(f.in.x[k*px:(k+1)*px], x[src*px:(src+1)*px])
			f.in.fill(a, bs, k, t[src], &cond[src], !null[src], m.site)
		}
		v, err := f.run()
		if err != nil {
			return err
		}
		copy(out[lo*px:hi*px], v[:(hi-lo)*px])
	}
	return nil
}
