package model

import "context"

// SliceImages is how many images a set read a slice at a time holds in
// memory at once (the evaluate task's test split, a store site's
// validation split).
const SliceImages = 256

// Slicer is an image set too large for memory, read a slice at a time
// (a prepared store's split).
type Slicer interface {
	// Len returns the number of images.
	Len() int
	// Size returns the images' side.
	Size() int
	// Slice reads images lo..hi-1 into memory.
	Slice(lo, hi int) (*ImageSet, error)
}

// EachSlice reads s in consecutive slices of at most SliceImages images
// and calls f with each slice and the index of its first image, checking
// ctx between slices. A slice is garbage once f returns.
func EachSlice(ctx context.Context, s Slicer, f func(lo int, part *ImageSet) error) error {
	for lo := 0; lo < s.Len(); lo += SliceImages {
		if err := ctx.Err(); err != nil {
			return err
		}
		part, err := s.Slice(lo, min(lo+SliceImages, s.Len()))
		if err != nil {
			return err
		}
		if err := f(lo, part); err != nil {
			return err
		}
	}
	return nil
}
