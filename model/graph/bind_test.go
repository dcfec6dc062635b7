package graph

import (
	"errors"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

type fixedArch struct {
	specs []model.TensorSpec
	bad   error
}

func (a fixedArch) Validate() error                    { return a.bad }
func (a fixedArch) Specs() ([]model.TensorSpec, error) { return a.specs, nil }

func TestCheckBinding(t *testing.T) {
	a := fixedArch{specs: []model.TensorSpec{{Name: "w", Shape: []int{2}}}}
	good := model.MustWeights(model.Tensor{Name: "w", Shape: []int{2}, Data: []float32{1, 2}})
	wrong := model.MustWeights(model.Tensor{Name: "w", Shape: []int{3}, Data: []float32{1, 2, 3}})
	if err := CheckBinding("m", "arch", a, good, 4); err != nil {
		t.Errorf("good weights: %v", err)
	}
	if err := CheckBinding("m", "arch", a, good, 0); err == nil || !strings.Contains(err.Error(), "m: batch size 0") {
		t.Errorf("batch 0: %v", err)
	}
	if err := CheckBinding("m", "arch", a, wrong, 4); err == nil || !strings.Contains(err.Error(), "m: weights do not fit arch") {
		t.Errorf("wrong shape: %v", err)
	}
	boom := errors.New("boom")
	if err := CheckBinding("m", "arch", fixedArch{bad: boom}, good, 4); !errors.Is(err, boom) {
		t.Errorf("invalid architecture: %v", err)
	}
}
