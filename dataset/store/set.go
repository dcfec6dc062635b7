package store

import (
	"fmt"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// Set is a list of records read from a Store by index: the streamed form
// of a training set (it is a model/loader Source). It keeps, per image,
// only its location, labels and synthetic flag (about 24 bytes); the
// pixels stay in the mapped chunks. It is safe for concurrent reads.
type Set struct {
	st        *Store
	refs      []Ref
	labels    [][model.NumLabels]model.Label
	synthetic []bool
	recs      []dataset.Record
}

// NewSet returns the images of recs (every one of which must be in st).
func NewSet(st *Store, recs []dataset.Record) (*Set, error) {
	s := &Set{st: st, refs: make([]Ref, len(recs)), labels: make([][model.NumLabels]model.Label, len(recs)), synthetic: make([]bool, len(recs)), recs: recs}
	for i := range recs {
		ref, _, ok := st.Lookup(recs[i].File)
		if !ok {
			return nil, fmt.Errorf("store %s: %s (%s) is not prepared: %w", st.Dir(), recs[i].File, recs[i].Origin, model.ErrMissing)
		}
		s.refs[i], s.labels[i], s.synthetic[i] = ref, recs[i].Labels, recs[i].Synthetic
	}
	return s, nil
}

// Len returns the number of images.
func (s *Set) Len() int { return len(s.refs) }

// Size returns the images' side.
func (s *Set) Size() int { return s.st.settings.Size }

// ReadImage writes image i, as values in [-1, 1], into dst, then evicts
// its pages from the resident set (Store.Evict), so that streaming a set
// larger than memory keeps the process's RSS flat.
func (s *Set) ReadImage(i int, dst []float32) {
	s.st.Read(s.refs[i], dst)
	s.st.Evict(s.refs[i])
}

// Bytes returns image i's stored pixels when they are 8-bit (shared with
// the mapping; valid until Done(i) and Close), for loaders that dequantise
// as they augment.
func (s *Set) Bytes(i int) ([]byte, bool) {
	if s.st.settings.PixelBits != 8 {
		return nil, false
	}
	return s.st.Raw(s.refs[i]), true
}

// Done evicts image i's pages from the resident set after Bytes.
func (s *Set) Done(i int) { s.st.Evict(s.refs[i]) }

// Labels returns image i's labels.
func (s *Set) Labels(i int) [model.NumLabels]model.Label { return s.labels[i] }

// Synthetic reports whether image i is synthetic.
func (s *Set) Synthetic(i int) bool { return s.synthetic[i] }

// Records returns the set's records (shared).
func (s *Set) Records() []dataset.Record { return s.recs }

// ImageSet reads the whole set into memory as a model.ImageSet, with
// conditions under policy u: for validation and test sets, and for
// trainers that do not stream yet. It needs 4*Size*Size bytes per image.
func (s *Set) ImageSet(u dataset.UncertainPolicy) (*model.ImageSet, error) {
	n := s.Size() * s.Size()
	pix := make([]float32, len(s.refs)*n)
	for i := range s.refs {
		s.ReadImage(i, pix[i*n:(i+1)*n])
	}
	return dataset.NewImageSet(s.Size(), s.recs, pix, u)
}
