package optim

import "github.com/synthfed/synthfed/model"

// CopyValues copies src's values into dst's slices in place (graphs bound
// to dst see them). The two must have the same names and shapes; otherwise
// nothing is copied and the error names every differing tensor.
func CopyValues(dst, src model.Weights) error {
	if err := dst.CheckSameSpec(src); err != nil {
		return err
	}
	for _, t := range dst.Tensors() {
		s, _ := src.Get(t.Name)
		copy(t.Data, s.Data)
	}
	return nil
}
