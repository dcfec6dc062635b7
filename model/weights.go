package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Tensor is one named float32 array in row-major order.
type Tensor struct {
	// Name identifies the tensor, for example "down.0.conv1.weight".
	Name string
	// Shape lists the dimensions; the product equals len(Data).
	Shape []int
	// Data holds the values in row-major order.
	Data []float32
}

// TensorSpec is the name and shape of a tensor without its values.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Weights is a set of named tensors kept in a deterministic order: sorted by
// name. Every exchange, hash and checkpoint uses that order.
type Weights struct {
	tensors []Tensor
	index   map[string]int
}

// Sentinel errors returned by Weights operations. Callers match them with
// errors.Is; the wrapping error names the tensor.
var (
	// ErrShape reports a tensor whose shape or length does not match.
	ErrShape = errors.New("tensor shape mismatch")
	// ErrMissing reports a tensor present in one set and absent in another.
	ErrMissing = errors.New("tensor missing")
	// ErrDuplicate reports two tensors with the same name.
	ErrDuplicate = errors.New("duplicate tensor name")
	// ErrNonFinite reports a NaN or infinite value.
	ErrNonFinite = errors.New("non-finite value")
)

// NewWeights builds a Weights from tensors, sorting them by name. It checks
// that names are unique and non-empty and that each shape matches its data.
// The tensors' slices are used as they are, not copied.
func NewWeights(tensors ...Tensor) (Weights, error) {
	ts := make([]Tensor, len(tensors))
	copy(ts, tensors)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	idx := make(map[string]int, len(ts))
	var errs []error
	for i, t := range ts {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("tensor %d: empty name", i))
		}
		if _, dup := idx[t.Name]; dup {
			errs = append(errs, fmt.Errorf("tensor %q: %w", t.Name, ErrDuplicate))
		}
		idx[t.Name] = i
		if n, ok := NumElements(t.Shape); !ok || n != len(t.Data) {
			errs = append(errs, fmt.Errorf("tensor %q: shape %v holds %d values, data has %d: %w", t.Name, t.Shape, n, len(t.Data), ErrShape))
		}
	}
	if len(errs) > 0 {
		return Weights{}, errors.Join(errs...)
	}
	return Weights{tensors: ts, index: idx}, nil
}

// MustWeights is NewWeights for tensors known to be valid; it panics otherwise.
func MustWeights(tensors ...Tensor) Weights {
	w, err := NewWeights(tensors...)
	if err != nil {
		panic(err)
	}
	return w
}

// Zeros returns weights of the given specs filled with zeros.
func Zeros(specs []TensorSpec) (Weights, error) {
	ts := make([]Tensor, len(specs))
	for i, s := range specs {
		n, ok := NumElements(s.Shape)
		if !ok {
			return Weights{}, fmt.Errorf("tensor %q: invalid shape %v: %w", s.Name, s.Shape, ErrShape)
		}
		ts[i] = Tensor{Name: s.Name, Shape: append([]int(nil), s.Shape...), Data: make([]float32, n)}
	}
	return NewWeights(ts...)
}

// NumElements returns the product of shape and whether every dimension is
// positive. An empty shape is a scalar with one element.
func NumElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d <= 0 || n > math.MaxInt32/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// Len returns the number of tensors.
func (w Weights) Len() int { return len(w.tensors) }

// Tensors returns the tensors in canonical order. The slice is shared: do not
// reorder it.
func (w Weights) Tensors() []Tensor { return w.tensors }

// Get returns the tensor called name.
func (w Weights) Get(name string) (Tensor, bool) {
	i, ok := w.index[name]
	if !ok {
		return Tensor{}, false
	}
	return w.tensors[i], true
}

// NumParams returns the total number of values.
func (w Weights) NumParams() int {
	n := 0
	for _, t := range w.tensors {
		n += len(t.Data)
	}
	return n
}

// Specs returns the name and shape of every tensor in canonical order.
func (w Weights) Specs() []TensorSpec {
	out := make([]TensorSpec, len(w.tensors))
	for i, t := range w.tensors {
		out[i] = TensorSpec{Name: t.Name, Shape: append([]int(nil), t.Shape...)}
	}
	return out
}

// Clone returns a deep copy.
func (w Weights) Clone() Weights {
	ts := make([]Tensor, len(w.tensors))
	for i, t := range w.tensors {
		ts[i] = Tensor{Name: t.Name, Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
	}
	idx := make(map[string]int, len(ts))
	for k, v := range w.index {
		idx[k] = v
	}
	return Weights{tensors: ts, index: idx}
}

// Flatten concatenates every tensor's data in canonical order.
func (w Weights) Flatten() []float32 {
	out := make([]float32, 0, w.NumParams())
	for _, t := range w.tensors {
		out = append(out, t.Data...)
	}
	return out
}

// Unflatten builds weights of the given specs from a flat vector, as produced
// by Flatten. The values are copied.
func Unflatten(specs []TensorSpec, flat []float32) (Weights, error) {
	w, err := Zeros(specs)
	if err != nil {
		return Weights{}, err
	}
	if w.NumParams() != len(flat) {
		return Weights{}, fmt.Errorf("unflatten: specs hold %d values, got %d: %w", w.NumParams(), len(flat), ErrShape)
	}
	off := 0
	for _, t := range w.tensors {
		off += copy(t.Data, flat[off:off+len(t.Data)])
	}
	return w, nil
}

// CheckSameSpec reports every tensor of other whose name or shape differs
// from w's, joined into one error.
func (w Weights) CheckSameSpec(other Weights) error {
	var errs []error
	for _, t := range w.tensors {
		o, ok := other.Get(t.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q: %w", t.Name, ErrMissing))
			continue
		}
		if !sameShape(t.Shape, o.Shape) {
			errs = append(errs, fmt.Errorf("tensor %q: shape %v, want %v: %w", t.Name, o.Shape, t.Shape, ErrShape))
		}
	}
	for _, o := range other.tensors {
		if _, ok := w.index[o.Name]; !ok {
			errs = append(errs, fmt.Errorf("tensor %q: unexpected: %w", o.Name, ErrMissing))
		}
	}
	return errors.Join(errs...)
}

// CheckFinite reports the first NaN or infinite value of each tensor.
func (w Weights) CheckFinite() error {
	var errs []error
	for _, t := range w.tensors {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				errs = append(errs, fmt.Errorf("tensor %q index %d = %v: %w", t.Name, i, v, ErrNonFinite))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// L2Norm returns the Euclidean norm of all values, accumulated in float64.
func (w Weights) L2Norm() float64 {
	var s float64
	for _, t := range w.tensors {
		for _, v := range t.Data {
			s += float64(v) * float64(v)
		}
	}
	return math.Sqrt(s)
}

// Hash returns the hex SHA-256 of the canonical encoding: for each tensor in
// order, its name, its shape and its values in little-endian IEEE 754.
// Identical weights always give the same hash, on any machine.
func (w Weights) Hash() string {
	h := sha256.New()
	var buf [8]byte
	for _, t := range w.tensors {
		binary.LittleEndian.PutUint32(buf[:4], uint32(len(t.Name)))
		h.Write(buf[:4])
		h.Write([]byte(t.Name))
		binary.LittleEndian.PutUint32(buf[:4], uint32(len(t.Shape)))
		h.Write(buf[:4])
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint64(buf[:], uint64(d))
			h.Write(buf[:])
		}
		chunk := make([]byte, 0, 4096)
		for _, v := range t.Data {
			chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			if len(chunk) == cap(chunk) {
				h.Write(chunk)
				chunk = chunk[:0]
			}
		}
		h.Write(chunk)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Filter returns the tensors for which keep returns true.
func (w Weights) Filter(keep func(name string) bool) Weights {
	var ts []Tensor
	for _, t := range w.tensors {
		if keep(t.Name) {
			ts = append(ts, t)
		}
	}
	out, _ := NewWeights(ts...) // a subset of valid weights is valid
	return out
}

// String summarises the weights for logs.
func (w Weights) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Weights{%d tensors, %d params", w.Len(), w.NumParams())
	if w.Len() > 0 {
		fmt.Fprintf(&b, ", hash %s", w.Hash()[:12])
	}
	b.WriteString("}")
	return b.String()
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
