package loader

import (
	"github.com/synthfed/synthfed/model"
)

// Source is a training set read by index: a prepared store's set, or an
// in-memory model.ImageSet (FromImageSet). Its methods are called from
// several goroutines at once and must be safe for that.
type Source interface {
	// Len returns the number of images.
	Len() int
	// Size returns the images' side in pixels.
	Size() int
	// ReadImage writes image i's Size*Size pixels, in [-1, 1], into dst.
	ReadImage(i int, dst []float32)
	// Labels returns image i's 14 labels.
	Labels(i int) [model.NumLabels]model.Label
	// Synthetic reports whether image i came from a generator.
	Synthetic(i int) bool
}

// ByteSource is a Source that holds 8-bit pixels (a prepared store's
// default), which a ByteAugmenter reads without dequantising first.
type ByteSource interface {
	Source
	// Bytes returns image i's pixels as 8 bits (0 is -1, 255 is 1), shared
	// and valid until Done(i); ok is false when the source does not hold
	// 8-bit pixels.
	Bytes(i int) (px []byte, ok bool)
	// Done says that the pixels Bytes(i) returned are no longer used.
	Done(i int)
}

// CondSource is a Source that also gives each image's condition vector
// (for the DDPM); Stream batches then carry it.
type CondSource interface {
	Source
	// Condition returns image i's 22-number condition.
	Condition(i int) [model.CondDim]float32
}

// imageSetSource adapts a model.ImageSet.
type imageSetSource struct{ s *model.ImageSet }

// FromImageSet returns set as a Source (shared, not copied).
func FromImageSet(set *model.ImageSet) CondSource { return imageSetSource{set} }

func (a imageSetSource) Len() int                                  { return a.s.Len() }
func (a imageSetSource) Size() int                                 { return a.s.Size }
func (a imageSetSource) ReadImage(i int, dst []float32)            { copy(dst, a.s.Image(i)) }
func (a imageSetSource) Labels(i int) [model.NumLabels]model.Label { return a.s.Labels[i] }
func (a imageSetSource) Synthetic(i int) bool                      { return a.s.Synthetic != nil && a.s.Synthetic[i] }
func (a imageSetSource) Condition(i int) [model.CondDim]float32    { return a.s.Cond[i] }
