package engine

import "github.com/synthfed/synthfed/model"

// FedAvg replaces the global model by the sample-weighted mean of the
// sites' weights (McMahan et al. 2017). With ProxMu > 0 it is FedProx (Li et
// al. 2020): the server step is the same and the sites add the proximal
// term mu/2 * ||w - global||^2 to their local loss.
type FedAvg struct {
	// ProxMu is sent to the sites; 0 is plain FedAvg.
	ProxMu float64
}

// Name returns "fedavg" or "fedprox".
func (f *FedAvg) Name() string {
	if f.ProxMu > 0 {
		return StrategyFedProx
	}
	return StrategyFedAvg
}

// ConfigureTrain sets the proximal coefficient.
func (f *FedAvg) ConfigureTrain(spec *model.TrainSpec) { spec.ProxMu = f.ProxMu }

// Apply returns mean itself: the engine hands each round's mean to the
// strategy once and keeps no other reference, so a copy would only
// double the coordinator's memory for study-size models.
func (f *FedAvg) Apply(_, mean model.Weights) (model.Weights, error) { return mean, nil }

// State returns no state.
func (f *FedAvg) State() model.Weights { return model.Weights{} }

// Restore accepts only empty state.
func (f *FedAvg) Restore(state model.Weights) error {
	if state.Len() != 0 {
		return ErrStrategyState
	}
	return nil
}
