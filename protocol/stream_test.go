package protocol

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

func randomWeights(r *rand.Rand, shapes map[string][]int) model.Weights {
	var ts []model.Tensor
	for name, shape := range shapes {
		n, _ := model.NumElements(shape)
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
		ts = append(ts, model.Tensor{Name: name, Shape: shape, Data: d})
	}
	return model.MustWeights(ts...)
}

func collect(t *testing.T, w model.Weights, chunk int) []*fedpb.Chunk {
	t.Helper()
	var out []*fedpb.Chunk
	if _, err := SendWeights(w, chunk, func(c *fedpb.Chunk) error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStreamRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		shapes map[string][]int
		chunk  int
		chunks int // expected data chunks
	}{
		{"one scalar", map[string][]int{"b": {}}, 1024, 1},
		{"chunk boundary inside tensor", map[string][]int{"a": {3, 5}, "b": {7}}, 16, 6},
		{"exact multiple", map[string][]int{"a": {8}}, 32, 1},
		{"odd chunk size rounds down", map[string][]int{"a": {4}}, 7, 4},
		{"many tensors", map[string][]int{"x.0": {2, 2}, "x.1": {1}, "y": {3, 1, 2}, "z": {9}}, 1 << 20, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := randomWeights(r, tc.shapes)
			chunks := collect(t, w, tc.chunk)
			if got := len(chunks) - 2; got != tc.chunks {
				t.Errorf("data chunks = %d, want %d", got, tc.chunks)
			}
			re := NewReassembler(DefaultLimits())
			re.Expect(w.Specs())
			for _, c := range chunks {
				if err := re.Add(c); err != nil {
					t.Fatal(err)
				}
			}
			got, err := re.Weights()
			if err != nil {
				t.Fatal(err)
			}
			if got.Hash() != w.Hash() || re.Hash() != w.Hash() {
				t.Fatalf("hash %s / %s, want %s", got.Hash(), re.Hash(), w.Hash())
			}
		})
	}
}

func TestReassemblerRefuses(t *testing.T) {
	w := model.MustWeights(model.Tensor{Name: "a", Shape: []int{2}, Data: []float32{1, 2}}, model.Tensor{Name: "b", Shape: []int{1}, Data: []float32{3}})
	good := collect(t, w, 4) // header, 3 data, trailer
	hdr := good[0]
	data := good[1]
	tamper := &fedpb.Chunk{Body: &fedpb.Chunk_Data{Data: []byte{0, 0, 0x80, 0x7f}}}
	lim := DefaultLimits()
	cases := []struct {
		name   string
		chunks []*fedpb.Chunk
		want   error
		expect []model.TensorSpec
		lim    *Limits
	}{
		{"data before header", []*fedpb.Chunk{data}, ErrMalformed, nil, nil},
		{"two headers", []*fedpb.Chunk{hdr, hdr}, ErrMalformed, nil, nil},
		{"empty chunk", []*fedpb.Chunk{{}}, ErrMalformed, nil, nil},
		{"odd bytes", []*fedpb.Chunk{hdr, {Body: &fedpb.Chunk_Data{Data: []byte{1, 2, 3}}}}, ErrMalformed, nil, nil},
		{"too many values", append(append([]*fedpb.Chunk{}, good[:4]...), data), ErrMalformed, nil, nil},
		{"early trailer", []*fedpb.Chunk{hdr, data, good[4]}, ErrMalformed, nil, nil},
		{"tampered value", []*fedpb.Chunk{hdr, data, tamper, good[3], good[4]}, ErrMalformed, nil, nil},
		{"chunk after trailer", append(append([]*fedpb.Chunk{}, good...), data), ErrMalformed, nil, nil},
		{"wrong shape expected", good, model.ErrShape, []model.TensorSpec{{Name: "a", Shape: []int{3}}, {Name: "b", Shape: []int{1}}}, nil},
		{"missing tensor expected", good, model.ErrShape, []model.TensorSpec{{Name: "a", Shape: []int{2}}}, nil},
		{"over value limit", good, ErrTooLarge, nil, &Limits{MaxValues: 2, MaxTensors: 8, MaxNameLen: 8, MaxDims: 2, MaxChunk: 8}},
		{"unsorted names", []*fedpb.Chunk{{Body: &fedpb.Chunk_Header{Header: &fedpb.StreamHeader{TotalValues: 2, Tensors: []*fedpb.TensorSpec{{Name: "b"}, {Name: "a"}}}}}}, ErrMalformed, nil, nil},
		{"zero dim", []*fedpb.Chunk{{Body: &fedpb.Chunk_Header{Header: &fedpb.StreamHeader{Tensors: []*fedpb.TensorSpec{{Name: "a", Shape: []int64{0}}}}}}}, ErrMalformed, nil, nil},
		{"wrong total", []*fedpb.Chunk{{Body: &fedpb.Chunk_Header{Header: &fedpb.StreamHeader{TotalValues: 5, Tensors: []*fedpb.TensorSpec{{Name: "a", Shape: []int64{2}}}}}}}, ErrMalformed, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lim
			if tc.lim != nil {
				l = *tc.lim
			}
			re := NewReassembler(l)
			if tc.expect != nil {
				re.Expect(tc.expect)
			}
			var err error
			for _, c := range tc.chunks {
				if err = re.Add(c); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzReassemble feeds arbitrary chunk sequences to a Reassembler: it must
// never panic, and whatever it accepts must hash as announced.
func FuzzReassemble(f *testing.F) {
	w := model.MustWeights(model.Tensor{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}})
	var seed []byte
	_, _ = SendWeights(w, 8, func(c *fedpb.Chunk) error {
		b, _ := marshalChunk(c)
		seed = append(seed, byte(len(b)))
		seed = append(seed, b...)
		return nil
	})
	f.Add(seed)
	f.Add([]byte{3, 0x12, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxValues: 1 << 12, MaxTensors: 16, MaxNameLen: 32, MaxDims: 4, MaxChunk: 1 << 12}
		re := NewReassembler(lim)
		for len(data) > 0 {
			n := int(data[0])
			data = data[1:]
			n = min(n, len(data))
			c, err := unmarshalChunk(data[:n])
			data = data[n:]
			if err != nil {
				return
			}
			if re.Add(c) != nil {
				return
			}
		}
		if re.Done() {
			got, err := re.Weights()
			if err != nil {
				t.Fatalf("done but weights: %v", err)
			}
			if got.Hash() != re.Hash() {
				t.Fatalf("hash mismatch")
			}
		}
	})
}
