package engine

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// UpdateBody is an upload's values as the engine reads them: the tensor
// specs its stream announced and the values, read in pieces. The engine
// reads a body twice (validation, then the fold), so a site's model never
// has to be held whole: the driver's body reads a spool file (see the
// coordinator's receiveBody), tests' bodies wrap weights.
type UpdateBody interface {
	// Specs returns the tensors, in canonical order.
	Specs() []model.TensorSpec
	// Each calls fn with consecutive pieces of the values, flattened in
	// canonical order, from the first value to the last, each time it is
	// called. fn must not keep a piece. Each stops at fn's first error and
	// returns it.
	Each(fn func(vals []float32) error) error
}

// WeightsBody returns w as an UpdateBody (one piece per tensor).
func WeightsBody(w model.Weights) UpdateBody { return weightsBody{w} }

type weightsBody struct{ w model.Weights }

func (b weightsBody) Specs() []model.TensorSpec { return b.w.Specs() }

func (b weightsBody) Each(fn func([]float32) error) error {
	for _, t := range b.w.Tensors() {
		if len(t.Data) == 0 {
			continue
		}
		if err := fn(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// bodyValues returns the number of values body's specs hold.
func bodyValues(specs []model.TensorSpec) (int, error) {
	n := 0
	for _, s := range specs {
		k, ok := model.NumElements(s.Shape)
		if !ok {
			return 0, fmt.Errorf("tensor %q shape %v: %w", s.Name, s.Shape, model.ErrShape)
		}
		n += k
	}
	return n, nil
}

// Materialize reads a whole body into weights (init uploads, whose model
// becomes the global one).
func Materialize(b UpdateBody) (model.Weights, error) {
	if wb, ok := b.(weightsBody); ok {
		return wb.w, nil
	}
	specs := b.Specs()
	n, err := bodyValues(specs)
	if err != nil {
		return model.Weights{}, err
	}
	flat := make([]float32, 0, n)
	err = b.Each(func(v []float32) error {
		if len(flat)+len(v) > n {
			return fmt.Errorf("body: more than the %d values its specs hold: %w", n, model.ErrShape)
		}
		flat = append(flat, v...)
		return nil
	})
	if err != nil {
		return model.Weights{}, err
	}
	if len(flat) != n {
		return model.Weights{}, fmt.Errorf("body: %d of the %d values its specs hold: %w", len(flat), n, model.ErrShape)
	}
	ts := make([]model.Tensor, len(specs))
	off := 0
	for i, s := range specs {
		k, _ := model.NumElements(s.Shape)
		ts[i] = model.Tensor{Name: s.Name, Shape: s.Shape, Data: flat[off : off+k : off+k]}
		off += k
	}
	return model.NewWeights(ts...)
}

// flatCursor walks weights' values in flattened canonical order alongside
// a body's pieces, without copying them.
type flatCursor struct {
	ts  []model.Tensor
	ti  int
	off int
}

// next returns up to n of the following values (fewer at a tensor's end).
func (c *flatCursor) next(n int) []float32 {
	for c.ti < len(c.ts) && c.off == len(c.ts[c.ti].Data) {
		c.ti, c.off = c.ti+1, 0
	}
	if c.ti == len(c.ts) {
		return nil
	}
	d := c.ts[c.ti].Data[c.off:]
	d = d[:min(n, len(d))]
	c.off += len(d)
	return d
}

// pairs calls fn with aligned pieces of body and base (same specs), and
// where the piece starts: its tensor's name and the index in it.
func pairs(base model.Weights, body UpdateBody, fn func(u, g []float32, tensor string, at int) error) error {
	cur := flatCursor{ts: base.Tensors()}
	return body.Each(func(u []float32) error {
		for len(u) > 0 {
			g := cur.next(len(u))
			if len(g) == 0 {
				return fmt.Errorf("body: more values than the model holds: %w", model.ErrShape)
			}
			t := cur.ts[cur.ti]
			if err := fn(u[:len(g)], g, t.Name, cur.off-len(g)); err != nil {
				return err
			}
			u = u[len(g):]
		}
		return nil
	})
}
