package graph

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// Arch is a network architecture as CheckBinding checks it.
type Arch interface {
	// Validate reports every problem of the architecture's settings.
	Validate() error
	// Specs returns the tensors the architecture declares.
	Specs() ([]model.TensorSpec, error)
}

// CheckBinding reports whether weights w can run in a network of
// architecture a (registered as name) in batches of batch images: a valid,
// batch at least 1, and w holding exactly a's tensors. what names the
// model in errors ("ddpm").
func CheckBinding(what, name string, a Arch, w model.Weights, batch int) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if batch < 1 {
		return fmt.Errorf("%s: batch size %d", what, batch)
	}
	specs, err := a.Specs()
	if err != nil {
		return err
	}
	if err := model.CheckSpecs(specs, w); err != nil {
		return fmt.Errorf("%s: weights do not fit %s: %w", what, name, err)
	}
	return nil
}
