package engine

import (
	"errors"
	"math"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/config"
)

// ErrNoSecureAggregation reports a job that asks for secure aggregation
// (or differential privacy, which needs it) from a coordinator that cannot
// run it: it has neither TLS credentials nor a secure-aggregation identity
// verifier.
var ErrNoSecureAggregation = errors.New("secure aggregation is not available at this coordinator")

// SecureMetricBound is B, the bound secure rounds clip each metric to
// before scaling it into the fixed-point range (protocol.EncodeSecureMetrics):
// losses, accuracies and AUROCs lie well inside it, and the mean keeps
// about 1e-4 absolute precision with the default secagg settings.
const SecureMetricBound = 100

// DefaultSecureMetrics returns the metrics a secure round carries unless
// the job says otherwise: the sites' mean local training loss and the
// evaluation of the received global model (evaluate_global) of the
// built-in trainers (logreg: eval_loss, eval_accuracy; ddpm: eval_val_loss;
// classifier: eval_val_loss, eval_val_auroc_macro). A site without one of
// them leaves it out of the mean.
func DefaultSecureMetrics() []string {
	return []string{"train_loss", "eval_loss", "eval_accuracy", "eval_val_loss", "eval_val_auroc_macro"}
}

// roundMetrics returns the metrics a secure round of the job carries: none
// under differential privacy, whose accounting covers the update only.
func (s JobSpec) roundMetrics() []string {
	if s.Privacy.Enabled {
		return nil
	}
	return s.SecureMetrics
}

// PrivacySpec is a job's differential privacy (crypto/dp): every site clips
// its update (local weights minus the global ones) to ClipNorm in L2 and
// adds Gaussian noise of standard deviation NoiseMultiplier*ClipNorm/sqrt(t)
// per element before its masked input leaves, so that the securely summed
// update of at least t sites carries noise NoiseMultiplier*ClipNorm. Each
// site charges its own zCDP ledger and refuses a job that would exceed its
// budget. It needs secure aggregation.
type PrivacySpec struct {
	// Enabled turns clipping, noise and accounting on.
	Enabled bool `toml:"enabled" json:"enabled"`
	// ClipNorm is C, the L2 bound on one site's update.
	ClipNorm float64 `toml:"clip_norm" json:"clip_norm"`
	// NoiseMultiplier is z: the aggregate's noise is z*C per element.
	NoiseMultiplier float64 `toml:"noise_multiplier" json:"noise_multiplier"`
}

// DefaultPrivacySpec returns DP off, with C = 1 and z = 1 ready for when it
// is turned on.
func DefaultPrivacySpec() PrivacySpec { return PrivacySpec{ClipNorm: 1, NoiseMultiplier: 1} }

// secAggConfig returns the job's secure-aggregation settings; a spec that
// leaves them all zero (built in code, not from TOML) gets the defaults.
func (s JobSpec) secAggConfig() secagg.Config {
	if s.SecAgg == (secagg.Config{}) {
		return secagg.DefaultConfig()
	}
	return s.SecAgg
}

// secure decides whether a round of the job over a roster of n sites uses
// secure aggregation when the coordinator's default is def. Left unset,
// a job in mode local or finetune (one site per job) or a roster smaller
// than secure aggregation's minimum aggregates in plain: a secure sum over
// one site hides nothing, and the secure round could not run.
func (s JobSpec) secure(def bool, n int) bool {
	if s.SecureAggregation != nil {
		return *s.SecureAggregation
	}
	if s.Privacy.Enabled {
		return true
	}
	return def && !s.soloMode() && n >= s.minSecureSites()
}

// soloMode reports whether the job trains each site alone.
func (s JobSpec) soloMode() bool {
	return s.Kind == JobTrain && (s.Mode == ModeLocal || s.Mode == ModeFinetune)
}

// minSecureSites is the smallest roster secure aggregation runs on: two
// sites, and at least the threshold's floor (secagg.min_threshold).
func (s JobSpec) minSecureSites() int { return max(2, s.secAggConfig().MinThreshold) }

// validateSecure reports the problems of the secure-aggregation and
// privacy settings.
func (s JobSpec) validateSecure(prefix string) error {
	var p config.Problems
	explicit := s.SecureAggregation != nil && *s.SecureAggregation
	if s.SecAgg != (secagg.Config{}) || explicit {
		if err := s.secAggConfig().Validate(); err != nil {
			p.Addf("%s.secagg: %v", prefix, err)
		}
	}
	switch {
	case (explicit || s.Privacy.Enabled) && s.soloMode():
		p.Addf("%s: secure_aggregation (or privacy) with mode = %q: each job trains one site alone, and a secure sum over one site "+
			"hides nothing; leave secure_aggregation unset (such jobs aggregate in plain) or set it false, and privacy off", prefix, s.Mode)
	case (explicit || s.Privacy.Enabled) && s.Quorum < 2:
		p.Addf("%s.quorum = %d: secure aggregation needs at least 2 sites", prefix, s.Quorum)
	case (explicit || s.Privacy.Enabled) && len(s.Sites) > 0 && len(s.Sites) < s.minSecureSites():
		p.Addf("%s.sites lists %d site(s): secure aggregation needs at least %d (secagg.min_threshold); leave secure_aggregation unset "+
			"or set it false", prefix, len(s.Sites), s.minSecureSites())
	}
	pr := s.Privacy
	if pr.Enabled {
		if s.SecureAggregation != nil && !*s.SecureAggregation {
			p.Addf("%s.privacy: distributed noise needs secure_aggregation (it is false)", prefix)
		}
		if !(pr.ClipNorm > 0) || math.IsInf(pr.ClipNorm, 0) || !(pr.NoiseMultiplier > 0) || math.IsInf(pr.NoiseMultiplier, 0) {
			p.Addf("%s.privacy: clip_norm %v and noise_multiplier %v must be finite and > 0", prefix, pr.ClipNorm, pr.NoiseMultiplier)
		}
	}
	return p.Err()
}
