package engine

import (
	"errors"
	"math"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// pieceBody serves w's values in pieces of k, failing with err after
// failAfter values (failAfter < 0: never), as a spool read back would.
type pieceBody struct {
	w         model.Weights
	k         int
	failAfter int
	err       error
}

func (b pieceBody) Specs() []model.TensorSpec { return b.w.Specs() }

func (b pieceBody) Each(fn func([]float32) error) error {
	flat := b.w.Flatten()
	for off := 0; off < len(flat); off += b.k {
		if b.failAfter >= 0 && off >= b.failAfter {
			return b.err
		}
		if err := fn(flat[off:min(off+b.k, len(flat))]); err != nil {
			return err
		}
	}
	return nil
}

// TestRefusedBodiesLeaveNoTrace runs a round in the float32-delta mode
// with bodies read in pieces that straddle tensors: a body whose read
// fails half-way, one with a NaN in its last piece and one past the norm
// bound are refused before any of it is folded, and the round commits the
// exact mean of the good ones.
func TestRefusedBodiesLeaveNoTrace(t *testing.T) {
	h := newHarness(t, Config{Float64SumMax: -1})
	spec := testSpec()
	spec.Sites = []string{"a", "b", "c", "d", "e"}
	spec.Quorum = 2
	spec.Validation.MaxUpdateNorm = 100
	h.join("a", "b", "c", "d", "e")
	h.startJob(spec, model.MustWeights(vec("u", 1, 2, 3), vec("w", 0, 0)))
	good := func(x float32) model.Weights { return model.MustWeights(vec("u", 1+x, 2+x, 3+x), vec("w", x, -x)) }
	send := func(site string, b UpdateBody, samples int64) error {
		return h.step(UploadReceived{Site: site, Meta: metaOf(h.tasks[site], samples), Body: b})
	}
	ioErr := errors.New("disk read failed")
	if err := send("a", pieceBody{w: good(50), k: 2, failAfter: 4, err: ioErr}, 5); err == nil {
		t.Fatal("a body that failed to read was accepted")
	}
	nan := good(1)
	nan.Tensors()[1].Data[1] = float32(math.NaN())
	if err := send("b", pieceBody{w: nan, k: 2, failAfter: -1}, 5); ReasonOf(err) != ReasonNonFinite {
		t.Fatalf("NaN body: %v", err)
	}
	if err := send("c", pieceBody{w: good(90), k: 2, failAfter: -1}, 5); ReasonOf(err) != ReasonNormBound {
		t.Fatalf("far body: %v", err)
	}
	must(t, send("d", pieceBody{w: good(2), k: 2, failAfter: -1}, 1))
	must(t, send("e", pieceBody{w: good(-1), k: 3, failAfter: -1}, 3))
	h.advance(spec.Deadlines.Train.D())
	c := h.commitLast()
	m := float32(2*1+(-1)*3) / 4
	wantData(t, c.Global, "u", 1+m, 2+m, 3+m)
	wantData(t, c.Global, "w", m, -m)
	if c.Summary.NumSamples != 4 {
		t.Fatalf("samples %d", c.Summary.NumSamples)
	}
}
