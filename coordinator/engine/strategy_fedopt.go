package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// FedOptKind selects the second-moment update of FedOpt.
type FedOptKind int

// FedOpt variants.
const (
	// FedOptAdam is FedAdam: v = b2*v + (1-b2)*d^2.
	FedOptAdam FedOptKind = iota
	// FedOptYogi is FedYogi: v = v - (1-b2)*d^2*sign(v - d^2).
	FedOptYogi
)

const (
	momentPrefix = "m/"
	secondPrefix = "v/"
)

// FedOpt is the server optimiser of Reddi et al. 2021 ("Adaptive Federated
// Optimization"), without bias correction. With d = mean - global:
//
//	m = b1*m + (1-b1)*d
//	v = b2*v + (1-b2)*d^2            (Adam)
//	v = v - (1-b2)*d^2*sign(v - d^2) (Yogi)
//	global = global + lr * m / (sqrt(v) + tau)
//
// m and v start at zero and are kept in float32 (computed in float64), so
// that a checkpointed state restores the exact trajectory.
type FedOpt struct {
	kind                  FedOptKind
	lr, beta1, beta2, tau float64
	m, v                  model.Weights
}

// NewFedOpt returns a FedOpt of kind tuned by spec.
func NewFedOpt(kind FedOptKind, spec StrategySpec) *FedOpt {
	return &FedOpt{kind: kind, lr: spec.ServerLR, beta1: spec.Beta1, beta2: spec.Beta2, tau: spec.Tau}
}

// Name returns "fedadam" or "fedyogi".
func (f *FedOpt) Name() string {
	if f.kind == FedOptYogi {
		return StrategyFedYogi
	}
	return StrategyFedAdam
}

// ConfigureTrain changes nothing.
func (f *FedOpt) ConfigureTrain(*model.TrainSpec) {}

// Apply takes one server optimiser step.
func (f *FedOpt) Apply(global, mean model.Weights) (model.Weights, error) {
	if err := global.CheckSameSpec(mean); err != nil {
		return model.Weights{}, err
	}
	if f.m.Len() == 0 {
		f.m, _ = model.Zeros(global.Specs())
		f.v, _ = model.Zeros(global.Specs())
	} else if err := global.CheckSameSpec(f.m); err != nil {
		return model.Weights{}, fmt.Errorf("fedopt state: %w", err)
	}
	out := global.Clone()
	for i, t := range out.Tensors() {
		mt, vt := f.m.Tensors()[i], f.v.Tensors()[i]
		mn, _ := mean.Get(t.Name)
		for j := range t.Data {
			d := float64(mn.Data[j]) - float64(t.Data[j])
			m := f.beta1*float64(mt.Data[j]) + (1-f.beta1)*d
			v := float64(vt.Data[j])
			d2 := d * d
			if f.kind == FedOptYogi {
				v -= (1 - f.beta2) * d2 * sign(v-d2)
			} else {
				v = f.beta2*v + (1-f.beta2)*d2
			}
			mt.Data[j], vt.Data[j] = float32(m), float32(v)
			t.Data[j] = float32(float64(t.Data[j]) + f.lr*float64(mt.Data[j])/(math.Sqrt(float64(vt.Data[j]))+f.tau))
		}
	}
	return out, nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// State returns m and v as one Weights with names prefixed "m/" and "v/".
func (f *FedOpt) State() model.Weights {
	if f.m.Len() == 0 {
		return model.Weights{}
	}
	var ts []model.Tensor
	for _, t := range f.m.Clone().Tensors() {
		t.Name = momentPrefix + t.Name
		ts = append(ts, t)
	}
	for _, t := range f.v.Clone().Tensors() {
		t.Name = secondPrefix + t.Name
		ts = append(ts, t)
	}
	return model.MustWeights(ts...)
}

// Restore sets m and v from State's output.
func (f *FedOpt) Restore(state model.Weights) error {
	if state.Len() == 0 {
		f.m, f.v = model.Weights{}, model.Weights{}
		return nil
	}
	var ms, vs []model.Tensor
	for _, t := range state.Clone().Tensors() {
		switch {
		case strings.HasPrefix(t.Name, momentPrefix):
			t.Name = strings.TrimPrefix(t.Name, momentPrefix)
			ms = append(ms, t)
		case strings.HasPrefix(t.Name, secondPrefix):
			t.Name = strings.TrimPrefix(t.Name, secondPrefix)
			vs = append(vs, t)
		default:
			return fmt.Errorf("fedopt state tensor %q: %w", t.Name, ErrStrategyState)
		}
	}
	m, err := model.NewWeights(ms...)
	if err != nil {
		return err
	}
	v, err := model.NewWeights(vs...)
	if err != nil {
		return err
	}
	if err := m.CheckSameSpec(v); err != nil {
		return fmt.Errorf("fedopt state: %w: %w", ErrStrategyState, err)
	}
	f.m, f.v = m, v
	return nil
}
