package loader

import (
	"context"

	"github.com/synthfed/synthfed/model"
)

// Batch is one training step's images, augmented, with their labels.
type Batch struct {
	// Step is the batch's step number.
	Step int
	// Size is the images' side.
	Size int
	// Index holds the source index of each image.
	Index []int
	// Pixels holds len(Index) augmented images of Size*Size values.
	Pixels []float32
	// Labels and Synthetic describe each image.
	Labels    [][model.NumLabels]model.Label
	Synthetic []bool
	// Cond holds each image's condition vector when the source is a
	// CondSource (zero otherwise).
	Cond [][model.CondDim]float32
}

// newBatch allocates a batch of n images of side size.
func newBatch(n, size int) *Batch {
	return &Batch{Size: size, Index: make([]int, n), Pixels: make([]float32, n*size*size),
		Labels: make([][model.NumLabels]model.Label, n), Synthetic: make([]bool, n), Cond: make([][model.CondDim]float32, n)}
}

// NewBatch allocates a batch of n images of side size (for in-memory
// loaders).
func NewBatch(n, size int) *Batch { return newBatch(n, size) }

// Image returns the pixels of the batch's image k (shared).
func (b *Batch) Image(k int) []float32 {
	n := b.Size * b.Size
	return b.Pixels[k*n : (k+1)*n]
}

// Loader yields batches in step order.
type Loader interface {
	// Next returns the next batch; it blocks until the batch is ready or
	// ctx is done.
	Next(ctx context.Context) (*Batch, error)
	// Release hands a batch's buffers back for reuse; b must not be used
	// afterwards.
	Release(b *Batch)
	// Close stops the loader's goroutines.
	Close() error
}
