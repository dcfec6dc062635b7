package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// recordsName is the records file of a settings folder: the compact index
// (Item) of the records the last Prepare kept, in their order, or of a
// synthetic set's images (Writer).
const recordsName = "RECORDS"

// Set is a list of images read from a Store by index: the streamed form
// of a training set (it is a model/loader ByteSource). It keeps, per
// image, its location and its compact record (Item, about 48 bytes in
// all); the pixels stay in the mapped chunks and no string is kept. It is
// safe for concurrent reads.
type Set struct {
	st    *Store
	refs  []Ref
	items []Item
	// u is the uncertain-label policy of Condition.
	u dataset.UncertainPolicy
}

// NewSet returns the images of recs (every one of which must be in st), in
// compact form: recs is not kept.
func NewSet(st *Store, recs []dataset.Record) (*Set, error) {
	items := make([]Item, len(recs))
	for i := range recs {
		e, ok := st.entry(recs[i].File)
		if !ok {
			return nil, fmt.Errorf("store %s: %s (%s) is not prepared: %w", st.Dir(), recs[i].File, recs[i].Origin, model.ErrMissing)
		}
		items[i] = itemOf(&recs[i], e)
	}
	return SetOf(st, items)
}

// SetOf returns the images of items, every one of which must name a chunk
// and slot of st.
func SetOf(st *Store, items []Item) (*Set, error) {
	s := &Set{st: st, refs: make([]Ref, len(items)), items: items, u: dataset.UncertainZeros}
	for i, it := range items {
		pos, ok := st.pos[it.Chunk]
		if !ok || int(it.Slot) >= st.chunks[pos].count {
			return nil, fmt.Errorf("store %s: image %d names chunk %d slot %d, not in the store: %w", st.Dir(), i, it.Chunk, it.Slot, model.ErrMissing)
		}
		s.refs[i] = Ref{chunk: pos, slot: it.Slot}
	}
	return s, nil
}

// Records returns the set of the records the last Prepare kept (or a
// synthetic set's images), read from the store's records file: the
// streamed trainers' index, without the source's CSV. A store prepared
// before records files existed is ErrNotPrepared (run data prepare).
func Records(st *Store) (*Set, error) {
	b, err := os.ReadFile(filepath.Join(st.dir, recordsName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s: no %s (run synthfed data prepare again): %w", st.dir, recordsName, ErrNotPrepared)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", st.dir, err)
	}
	items, err := decodeItems(b, st.settings)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", filepath.Join(st.dir, recordsName), err)
	}
	return SetOf(st, items)
}

// writeRecords commits the records file of items.
func writeRecords(write writeFunc, dir string, s Settings, items []Item) error {
	if err := write(filepath.Join(dir, recordsName), encodeItems(s, items)); err != nil {
		return fmt.Errorf("store: records: %w", err)
	}
	return nil
}

// Len returns the number of images.
func (s *Set) Len() int { return len(s.refs) }

// Size returns the images' side.
func (s *Set) Size() int { return s.st.settings.Size }

// Store returns the store the set reads.
func (s *Set) Store() *Store { return s.st }

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
func (s *Set) Labels(i int) [model.NumLabels]model.Label { return s.items[i].Labels }

// Synthetic reports whether image i is synthetic.
func (s *Set) Synthetic(i int) bool { return s.items[i].Synthetic }

// WithPolicy returns the set (sharing its index) whose Condition applies
// the uncertain-label policy u (dataset.UncertainZeros by default).
func (s *Set) WithPolicy(u dataset.UncertainPolicy) *Set {
	c := *s
	c.u = u
	return &c
}

// Condition returns image i's condition vector under the set's policy:
// the set is a loader.CondSource, for the DDPM.
func (s *Set) Condition(i int) [model.CondDim]float32 { return s.items[i].Condition(s.u) }

// Item returns image i's compact record.
func (s *Set) Item(i int) Item { return s.items[i] }

// Subset returns the images idx of s, in that order (sharing the store).
func (s *Set) Subset(idx []int) *Set {
	out := &Set{st: s.st, refs: make([]Ref, len(idx)), items: make([]Item, len(idx)), u: s.u}
	for k, i := range idx {
		out.refs[k], out.items[k] = s.refs[i], s.items[i]
	}
	return out
}

// ImageSet reads images lo..hi-1 into memory as a model.ImageSet, with
// conditions under policy u and the patients as their hashes: for
// trainers and samplers that read whole sets, and for batches of a
// scorer. It needs 4*Size*Size bytes per image.
func (s *Set) ImageSet(u dataset.UncertainPolicy) (*model.ImageSet, error) {
	return s.Slice(0, s.Len(), u)
}

// Slice is ImageSet of images lo..hi-1.
func (s *Set) Slice(lo, hi int, u dataset.UncertainPolicy) (*model.ImageSet, error) {
	n := s.Size() * s.Size()
	pix := make([]float32, (hi-lo)*n)
	recs := make([]dataset.Record, hi-lo)
	for i := lo; i < hi; i++ {
		s.ReadImage(i, pix[(i-lo)*n:(i-lo+1)*n])
		recs[i-lo] = s.items[i].Record()
	}
	set, err := dataset.NewImageSet(s.Size(), recs, pix, u)
	if err != nil {
		return nil, err
	}
	return set, nil
}

// ReadImageSet reads the images of recs (every one in st) into memory as
// a model.ImageSet with the records' own patient IDs: for validation and
// test splits.
func ReadImageSet(st *Store, recs []dataset.Record, u dataset.UncertainPolicy) (*model.ImageSet, error) {
	n := st.settings.Size * st.settings.Size
	pix := make([]float32, len(recs)*n)
	for i := range recs {
		ref, _, ok := st.Lookup(recs[i].File)
		if !ok {
			return nil, fmt.Errorf("store %s: %s (%s) is not prepared: %w", st.Dir(), recs[i].File, recs[i].Origin, model.ErrMissing)
		}
		st.Read(ref, pix[i*n:(i+1)*n])
		st.Evict(ref)
	}
	return dataset.NewImageSet(st.settings.Size, recs, pix, u)
}
