package engine

import (
	"fmt"
	"regexp"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
)

// Strategy names.
const (
	StrategyFedAvg  = "fedavg"
	StrategyFedProx = "fedprox"
	StrategyFedAdam = "fedadam"
	StrategyFedYogi = "fedyogi"
	StrategyFedBN   = "fedbn"
)

// StrategySpec chooses and tunes the server-side strategy. FedBN is FedAvg
// with LocalOnly patterns; LocalOnly works with every strategy.
type StrategySpec struct {
	// Name is fedavg, fedprox, fedadam, fedyogi or fedbn.
	Name string `toml:"name" json:"name"`
	// ProxMu is FedProx's proximal coefficient, sent to the sites.
	ProxMu float64 `toml:"prox_mu" json:"prox_mu"`
	// ServerLR, Beta1, Beta2 and Tau tune FedAdam and FedYogi (Reddi et al. 2021).
	ServerLR float64 `toml:"server_lr" json:"server_lr"`
	Beta1    float64 `toml:"beta1" json:"beta1"`
	Beta2    float64 `toml:"beta2" json:"beta2"`
	Tau      float64 `toml:"tau" json:"tau"`
	// LocalOnly lists regular expressions of tensor names that stay at the
	// sites (FedBN): never uploaded, aggregated or overwritten.
	LocalOnly []string `toml:"local_only" json:"local_only,omitempty"`
	// EMADecay > 0 keeps a server-side exponential moving average of the
	// committed global models, a second output of the job (see UpdateEMA
	// and EMADecayAt); 0, the default, keeps none.
	EMADecay float64 `toml:"ema_decay" json:"ema_decay,omitempty"`
	// EMAWarmup caps the decay by (1+n)/(10+n) after n updates; unset
	// means true.
	EMAWarmup *bool `toml:"ema_warmup" json:"ema_warmup,omitempty"`
}

// DefaultStrategySpec returns FedAvg with the FedOpt defaults of Reddi et
// al. ready for when the name is changed.
func DefaultStrategySpec() StrategySpec {
	return StrategySpec{Name: StrategyFedAvg, ServerLR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}
}

// Validate reports every problem at once.
func (s StrategySpec) Validate(prefix string) error {
	var p config.Problems
	switch s.Name {
	case StrategyFedAvg, StrategyFedAdam, StrategyFedYogi:
	case StrategyFedProx:
		if !(s.ProxMu > 0) {
			p.Addf("%s.prox_mu = %v: fedprox needs > 0", prefix, s.ProxMu)
		}
	case StrategyFedBN:
		if len(s.LocalOnly) == 0 {
			p.Addf("%s.local_only is empty: fedbn needs the patterns of the local layers", prefix)
		}
	default:
		p.Addf("%s.name = %q: want fedavg, fedprox, fedadam, fedyogi or fedbn", prefix, s.Name)
	}
	if s.ProxMu < 0 {
		p.Addf("%s.prox_mu = %v: want >= 0", prefix, s.ProxMu)
	}
	if s.Name == StrategyFedAdam || s.Name == StrategyFedYogi {
		if !(s.ServerLR > 0) || s.Beta1 < 0 || s.Beta1 >= 1 || s.Beta2 < 0 || s.Beta2 >= 1 || !(s.Tau > 0) {
			p.Addf("%s: server_lr %v > 0, beta1 %v and beta2 %v in [0,1), tau %v > 0 required", prefix, s.ServerLR, s.Beta1, s.Beta2, s.Tau)
		}
	}
	for _, pat := range s.LocalOnly {
		if _, err := regexp.Compile(pat); err != nil {
			p.Addf("%s.local_only %q: %v", prefix, pat, err)
		}
	}
	p.Add(s.validateEMA(prefix))
	return p.Err()
}

// Strategy turns the weighted mean of the sites' weights into the next
// global model. Implementations see only the shared tensors (those not
// local-only). They keep any server optimiser state, which is checkpointed
// with every round so that a resumed job continues bit for bit.
type Strategy interface {
	// Name returns the strategy's name.
	Name() string
	// ConfigureTrain adjusts the local training sent to sites.
	ConfigureTrain(spec *model.TrainSpec)
	// Apply returns the new global weights from the current ones and the
	// sample-weighted mean of the accepted updates. It must not modify its
	// arguments.
	Apply(global, mean model.Weights) (model.Weights, error)
	// State returns the optimiser state to checkpoint (empty if none).
	State() model.Weights
	// Restore sets the optimiser state from a checkpoint.
	Restore(state model.Weights) error
}

// NewStrategy builds the strategy spec names.
func NewStrategy(spec StrategySpec) (Strategy, error) {
	switch spec.Name {
	case StrategyFedAvg, StrategyFedBN:
		return &FedAvg{}, nil
	case StrategyFedProx:
		return &FedAvg{ProxMu: spec.ProxMu}, nil
	case StrategyFedAdam:
		return NewFedOpt(FedOptAdam, spec), nil
	case StrategyFedYogi:
		return NewFedOpt(FedOptYogi, spec), nil
	}
	return nil, fmt.Errorf("strategy %q: %w", spec.Name, ErrUnknownStrategy)
}
