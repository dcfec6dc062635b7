package fed

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
)

// Task kinds: what a task asks a site to do.
const (
	// KindInit asks a site for freshly initialised weights (Trainer.Init).
	KindInit = "init"
	// KindTrain asks a site for one round of local training.
	KindTrain = "train"
	// KindPhase opens an aggregator-defined round phase (secure
	// aggregation's key exchange, masked input, unmasking); the site
	// answers with phase messages.
	KindPhase = "phase"
	// KindSample asks a site to draw synthetic replicas of its training rows
	// from a DDPM checkpoint and keep them in its local synthetic folder.
	KindSample = "sample"
	// KindEvaluate asks a site to score classifier checkpoints on its test
	// set and return aggregate metrics only.
	KindEvaluate = "evaluate"
)

// NonceLen is the length of the random nonce that binds an upload to a task.
const NonceLen = 16

var siteIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidSiteID reports whether id is a well-formed site identity: 1 to 128
// letters, digits, dots, underscores or dashes, starting with a letter or
// digit.
func ValidSiteID(id string) error {
	if !siteIDRe.MatchString(id) {
		return fmt.Errorf("site id %q: want 1-128 of [A-Za-z0-9._-], starting alphanumeric: %w", id, ErrMalformed)
	}
	return nil
}

var hashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidHash reports whether h is a content hash: 64 lower-case hex digits
// (the SHA-256 of model.Weights.Hash).
func ValidHash(h string) error {
	if !hashRe.MatchString(h) {
		return fmt.Errorf("content hash %q: want 64 lower-case hex digits: %w", h, ErrMalformed)
	}
	return nil
}

// ModelRef names a stored model by content hash, with the job that made it
// and that job's model name and configuration (so the site can build the
// architecture the weights belong to).
type ModelRef struct {
	Hash        string          `json:"hash"`
	Job         string          `json:"job"`
	Model       string          `json:"model"`
	ModelConfig json.RawMessage `json:"model_config,omitempty"`
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
