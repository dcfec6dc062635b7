package protocol

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Limits bound what a Reassembler accepts from the other side, so that a
// hostile or broken peer cannot make it allocate without bound.
type Limits struct {
	// MaxValues is the most float32 values a stream may announce.
	MaxValues uint64
	// MaxTensors is the most tensors a stream may announce.
	MaxTensors int
	// MaxNameLen is the longest tensor name accepted.
	MaxNameLen int
	// MaxDims is the most dimensions of one tensor.
	MaxDims int
	// MaxChunk is the largest data chunk in bytes.
	MaxChunk int
}

// DefaultLimits allows models up to 2^29 values (2 GiB of float32).
func DefaultLimits() Limits {
	return Limits{MaxValues: 1 << 29, MaxTensors: 1 << 16, MaxNameLen: 1024, MaxDims: 8, MaxChunk: MaxChunkSize}
}

// Reassembler rebuilds weights from a chunk stream written by StreamWriter.
// Chunks must come in order: header, data..., trailer. Every violation is an
// error wrapping ErrMalformed or ErrTooLarge that says what was wrong.
type Reassembler struct {
	lim     Limits
	specs   []model.TensorSpec
	total   uint64
	got     uint64
	data    []float32
	discard bool
	hasher  *streamHasher
	hash    string
	done    bool
	expect  []model.TensorSpec
	sink    func([]byte) error
}

// NewReassembler returns a Reassembler that enforces lim.
func NewReassembler(lim Limits) *Reassembler { return &Reassembler{lim: lim} }

// Expect makes the header fail unless its specs equal specs exactly (names,
// order, shapes), so that a wrong-shaped update is refused before its data
// is received.
func (r *Reassembler) Expect(specs []model.TensorSpec) { r.expect = specs }

// Discard makes the Reassembler check and hash the values without keeping
// them; Weights then fails. It is for relays and tests of huge streams.
func (r *Reassembler) Discard() { r.discard = true }

// Sink makes the Reassembler hand each data chunk's value bytes
// (little-endian float32, checked against the header) to sink instead of
// keeping them, so that a receiver holds one chunk, not the model; Weights
// then fails. A sink's error ends the stream with that error. The bytes
// are only valid during the call.
func (r *Reassembler) Sink(sink func(b []byte) error) { r.sink, r.discard = sink, true }

// Add consumes the next chunk.
func (r *Reassembler) Add(c *fedpb.Chunk) error {
	if r.done {
		return fmt.Errorf("stream: chunk after trailer: %w", ErrMalformed)
	}
	switch b := c.GetBody().(type) {
	case *fedpb.Chunk_Header:
		return r.header(b.Header)
	case *fedpb.Chunk_Data:
		return r.values(b.Data)
	case *fedpb.Chunk_Trailer:
		return r.trailer(b.Trailer)
	}
	return fmt.Errorf("stream: empty chunk: %w", ErrMalformed)
}

func (r *Reassembler) header(h *fedpb.StreamHeader) error {
	if r.specs != nil {
		return fmt.Errorf("stream: second header: %w", ErrMalformed)
	}
	specs, total, err := DecodeSpecs(h.GetTensors(), r.lim)
	if err != nil {
		return err
	}
	if total != h.GetTotalValues() {
		return fmt.Errorf("stream: header announces %d values, tensors hold %d: %w", h.GetTotalValues(), total, ErrMalformed)
	}
	if r.expect != nil {
		if err := sameSpecs(r.expect, specs); err != nil {
			return err
		}
	}
	r.specs, r.total = specs, total
	r.hasher = newStreamHasher(specs)
	if !r.discard {
		r.data = make([]float32, 0, total)
	}
	return nil
}

// DecodeSpecs checks wire tensor specs against lim: unique non-empty names
// in strictly increasing order, positive dimensions, and a total within
// bounds. It returns the specs and their total number of values.
func DecodeSpecs(ts []*fedpb.TensorSpec, lim Limits) ([]model.TensorSpec, uint64, error) {
	if len(ts) > lim.MaxTensors {
		return nil, 0, fmt.Errorf("stream: %d tensors, limit %d: %w", len(ts), lim.MaxTensors, ErrTooLarge)
	}
	specs := make([]model.TensorSpec, len(ts))
	var total uint64
	for i, t := range ts {
		name := t.GetName()
		switch {
		case name == "" || len(name) > lim.MaxNameLen:
			return nil, 0, fmt.Errorf("stream: tensor %d: name of %d bytes: %w", i, len(name), ErrMalformed)
		case i > 0 && name <= specs[i-1].Name:
			return nil, 0, fmt.Errorf("stream: tensor %q after %q: names not in canonical order: %w", name, specs[i-1].Name, ErrMalformed)
		case len(t.GetShape()) > lim.MaxDims:
			return nil, 0, fmt.Errorf("stream: tensor %q: %d dimensions: %w", name, len(t.GetShape()), ErrMalformed)
		}
		shape := make([]int, len(t.GetShape()))
		n := uint64(1)
		for j, d := range t.GetShape() {
			if d <= 0 || uint64(d) > lim.MaxValues {
				return nil, 0, fmt.Errorf("stream: tensor %q: dimension %d: %w", name, d, ErrMalformed)
			}
			shape[j] = int(d)
			n *= uint64(d)
			if n > lim.MaxValues {
				return nil, 0, fmt.Errorf("stream: tensor %q: over %d values: %w", name, lim.MaxValues, ErrTooLarge)
			}
		}
		total += n
		if total > lim.MaxValues {
			return nil, 0, fmt.Errorf("stream: over %d values: %w", lim.MaxValues, ErrTooLarge)
		}
		specs[i] = model.TensorSpec{Name: name, Shape: shape}
	}
	return specs, total, nil
}

func sameSpecs(want, got []model.TensorSpec) error {
	if len(want) != len(got) {
		return fmt.Errorf("stream: %d tensors, want %d: %w", len(got), len(want), model.ErrShape)
	}
	for i := range want {
		if want[i].Name != got[i].Name {
			return fmt.Errorf("stream: tensor %d is %q, want %q: %w", i, got[i].Name, want[i].Name, model.ErrMissing)
		}
		if fmt.Sprint(want[i].Shape) != fmt.Sprint(got[i].Shape) {
			return fmt.Errorf("stream: tensor %q shape %v, want %v: %w", got[i].Name, got[i].Shape, want[i].Shape, model.ErrShape)
		}
	}
	return nil
}

func (r *Reassembler) values(b []byte) error {
	switch {
	case r.specs == nil:
		return fmt.Errorf("stream: data before header: %w", ErrMalformed)
	case len(b) == 0 || len(b)%4 != 0:
		return fmt.Errorf("stream: data chunk of %d bytes, want a positive multiple of 4: %w", len(b), ErrMalformed)
	case len(b) > r.lim.MaxChunk:
		return fmt.Errorf("stream: data chunk of %d bytes, limit %d: %w", len(b), r.lim.MaxChunk, ErrTooLarge)
	case r.got+uint64(len(b)/4) > r.total:
		return fmt.Errorf("stream: %d values past the announced %d: %w", r.got+uint64(len(b)/4), r.total, ErrMalformed)
	}
	r.hasher.write(b)
	r.got += uint64(len(b) / 4)
	if r.sink != nil {
		return r.sink(b)
	}
	if !r.discard {
		for i := 0; i < len(b); i += 4 {
			r.data = append(r.data, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
		}
	}
	return nil
}

func (r *Reassembler) trailer(t *fedpb.StreamTrailer) error {
	if r.specs == nil {
		return fmt.Errorf("stream: trailer before header: %w", ErrMalformed)
	}
	if r.got != r.total {
		return fmt.Errorf("stream: trailer after %d of %d values: %w", r.got, r.total, ErrMalformed)
	}
	sum := r.hasher.sum()
	if t.GetHash() != sum {
		return fmt.Errorf("stream: content hash %.12s, trailer says %.12s: %w", sum, t.GetHash(), ErrMalformed)
	}
	r.hash, r.done = sum, true
	return nil
}

// Done reports whether a valid trailer has been received.
func (r *Reassembler) Done() bool { return r.done }

// Hash returns the verified content hash once Done.
func (r *Reassembler) Hash() string { return r.hash }

// Specs returns the header's tensor specs, or nil before the header.
func (r *Reassembler) Specs() []model.TensorSpec { return r.specs }

// Weights returns the reassembled weights once Done.
func (r *Reassembler) Weights() (model.Weights, error) {
	if !r.done {
		return model.Weights{}, fmt.Errorf("stream: incomplete (%d of %d values): %w", r.got, r.total, ErrMalformed)
	}
	if r.discard {
		return model.Weights{}, fmt.Errorf("stream: values were discarded")
	}
	ts := make([]model.Tensor, len(r.specs))
	off := 0
	for i, s := range r.specs {
		n, _ := model.NumElements(s.Shape)
		ts[i] = model.Tensor{Name: s.Name, Shape: s.Shape, Data: r.data[off : off+n : off+n]}
		off += n
	}
	return model.NewWeights(ts...)
}
