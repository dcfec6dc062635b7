package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/protocol/fed"
)

// Task kinds of the study's workflow beyond init and train. Their tasks
// carry a fedpb.JobTask extension; the settings come from JobContext.
const (
	KindSample   = fed.KindSample
	KindEvaluate = fed.KindEvaluate
)

// MaxContextBytes bounds a JobContext document.
const MaxContextBytes = 1 << 20

// MaxResultBytes bounds the result of one task report.
const MaxResultBytes = 1 << 20

// ValidHash reports whether h is a content hash (fed.ValidHash).
func ValidHash(h string) error { return fed.ValidHash(h) }

// JobContext is a job as a site sees it: what to build and run for the
// job's tasks. The coordinator serves it (Jobs.JobContext) with every
// reference to an earlier job's output resolved to a content hash and the
// configuration of the model it names.
type JobContext struct {
	// Job is the job ID and Kind its kind (train, sample, evaluate).
	Job  string `json:"job"`
	Kind string `json:"kind"`
	// Model names the trainer (ddpm, classifier, logreg...).
	Model string `json:"model"`
	// Seed is the job seed.
	Seed int64 `json:"seed"`
	// ModelConfig is the trainer's configuration (the job spec's
	// [model_config] table) as a JSON object, or empty for the defaults.
	ModelConfig json.RawMessage `json:"model_config,omitempty"`
	// Data is the data recipe of a classifier train job.
	Data *DataRecipe `json:"data,omitempty"`
	// Sample holds a sample job's settings.
	Sample *SampleSettings `json:"sample,omitempty"`
	// Evaluate holds an evaluate job's settings.
	Evaluate *EvaluateSettings `json:"evaluate,omitempty"`
}

// ModelRef names a stored model by content hash (fed.ModelRef).
type ModelRef = fed.ModelRef

// DataRecipe says what a classifier trains on at each site.
type DataRecipe struct {
	// Real includes the site's real training rows.
	Real bool `json:"real"`
	// SyntheticLevel N adds replicas 0..N-1 of every real training row.
	SyntheticLevel int `json:"synthetic_level"`
	// SyntheticSet is the synthetic set's ID (the output of the sample job
	// that drew it); the site finds it in its synthetic folder.
	SyntheticSet string `json:"synthetic_set,omitempty"`
	// SyntheticCheckpoint is the DDPM that drew the set, when the spec named
	// the checkpoint rather than the sample job.
	SyntheticCheckpoint string `json:"synthetic_checkpoint,omitempty"`
	// RealFraction, when in (0,1], fixes the share of real images per batch.
	RealFraction float64 `json:"real_fraction"`
	// SyntheticWeight multiplies the loss of synthetic images.
	SyntheticWeight float64 `json:"synthetic_weight"`
	// Fidelity, when set, drops synthetic images whose conditioning labels
	// a real-trained classifier contradicts.
	Fidelity *FidelityFilter `json:"fidelity,omitempty"`
}

// FidelityFilter drops a synthetic image when the classifier Model gives a
// conditioned-positive label a probability under Threshold, or a
// conditioned-negative label one over 1-Threshold.
type FidelityFilter struct {
	Model     ModelRef `json:"model"`
	Threshold float64  `json:"threshold"`
}

// SampleSettings are a sample job's settings.
type SampleSettings struct {
	// DDPM is the checkpoint to sample from.
	DDPM ModelRef `json:"ddpm"`
	// SetID names the synthetic set: the sites write it to
	// <synthetic dir>/<SetID>/.
	SetID string `json:"set_id"`
	// Levels is the number of replicas per real training row (N).
	Levels int `json:"levels"`
	// Guidance and GuidanceRescale are the classifier-free guidance scale
	// and rescale; Steps, Method and BatchSize configure the sampler.
	Guidance        float64 `json:"guidance"`
	GuidanceRescale float64 `json:"guidance_rescale"`
	Steps           int     `json:"steps"`
	Method          string  `json:"method"`
	BatchSize       int     `json:"batch_size"`
	// AsSite chooses the site condition of a site-conditioned DDPM (see
	// ValidAsSite); empty is AsSiteOwn. Models without sites ignore it.
	AsSite string `json:"as_site,omitempty"`
}

// The site conditions a sample job can ask a site-conditioned DDPM for
// (fed.AsSiteOwn and its siblings, re-exported).
const (
	AsSiteOwn    = fed.AsSiteOwn
	AsSiteAny    = fed.AsSiteAny
	AsSiteOthers = fed.AsSiteOthers
)

// ValidAsSite is fed.ValidAsSite.
func ValidAsSite(s string) error { return fed.ValidAsSite(s) }

// EvaluateSettings are an evaluate job's settings.
type EvaluateSettings struct {
	// Models are the classifiers to score.
	Models []ModelRef `json:"models"`
	// Baseline is the classifier each model is compared with by DeLong's
	// paired test on the site's test set; nil for none.
	Baseline *ModelRef `json:"baseline,omitempty"`
	// BootstrapReps, BootstrapLevel and BootstrapSeed configure the
	// patient-level bootstrap intervals (0 reps: none).
	BootstrapReps  int     `json:"bootstrap_reps"`
	BootstrapLevel float64 `json:"bootstrap_level"`
	BootstrapSeed  uint64  `json:"bootstrap_seed"`
}

// EncodeJobContext returns c as JSON.
func EncodeJobContext(c *JobContext) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("job context %s: %w", c.Job, err)
	}
	return b, nil
}

// DecodeJobContext parses and checks a JobContext received from the
// coordinator: unknown fields, oversized documents, malformed hashes and
// out-of-range settings are refused with an error wrapping ErrMalformed.
func DecodeJobContext(data []byte) (*JobContext, error) {
	if len(data) > MaxContextBytes {
		return nil, fmt.Errorf("job context: %d bytes: %w", len(data), ErrTooLarge)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c JobContext
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("job context: %v: %w", err, ErrMalformed)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the context's fields.
func (c *JobContext) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("job context %s: %s: %w", c.Job, fmt.Sprintf(format, args...), ErrMalformed)
	}
	if c.Job == "" || c.Model == "" {
		return bad("no job or model")
	}
	if len(c.ModelConfig) > 0 && !isObject(c.ModelConfig) {
		return bad("model_config is not a JSON object")
	}
	switch c.Kind {
	case KindTrain:
		if c.Data != nil {
			return c.Data.validate(bad)
		}
	case KindSample:
		if c.Sample == nil {
			return bad("sample job without sample settings")
		}
		return c.Sample.validate(bad)
	case KindEvaluate:
		if c.Evaluate == nil {
			return bad("evaluate job without evaluate settings")
		}
		return c.Evaluate.validate(bad)
	default:
		return bad("kind %q", c.Kind)
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}

func validateRef(r ModelRef, what string, bad func(string, ...any) error) error {
	if ValidHash(r.Hash) != nil {
		return bad("%s: hash %q", what, r.Hash)
	}
	if len(r.ModelConfig) > 0 && !isObject(r.ModelConfig) {
		return bad("%s: model_config is not a JSON object", what)
	}
	return nil
}

func (d *DataRecipe) validate(bad func(string, ...any) error) error {
	switch {
	case d.SyntheticLevel < 0 || d.SyntheticLevel > 1000:
		return bad("synthetic_level %d: want 0..1000", d.SyntheticLevel)
	case !d.Real && d.SyntheticLevel == 0:
		return bad("no real and no synthetic data")
	case d.SyntheticLevel > 0 && d.SyntheticSet == "" && d.SyntheticCheckpoint == "":
		return bad("synthetic_level %d without a synthetic set or checkpoint", d.SyntheticLevel)
	case d.SyntheticSet != "" && ValidHash(d.SyntheticSet) != nil:
		return bad("synthetic_set %q", d.SyntheticSet)
	case d.SyntheticCheckpoint != "" && ValidHash(d.SyntheticCheckpoint) != nil:
		return bad("synthetic_checkpoint %q", d.SyntheticCheckpoint)
	case !(d.RealFraction >= 0 && d.RealFraction <= 1):
		return bad("real_fraction %v: want in [0,1]", d.RealFraction)
	case !(d.SyntheticWeight >= 0) || math.IsInf(d.SyntheticWeight, 0):
		return bad("synthetic_weight %v: want >= 0", d.SyntheticWeight)
	}
	if f := d.Fidelity; f != nil {
		if !(f.Threshold > 0 && f.Threshold < 0.5) {
			return bad("fidelity threshold %v: want in (0, 0.5)", f.Threshold)
		}
		return validateRef(f.Model, "fidelity model", bad)
	}
	return nil
}

func (s *SampleSettings) validate(bad func(string, ...any) error) error {
	switch {
	case ValidHash(s.SetID) != nil:
		return bad("set_id %q", s.SetID)
	case s.Levels < 1 || s.Levels > 1000:
		return bad("levels %d: want 1..1000", s.Levels)
	case !(s.Guidance >= 0) || math.IsInf(s.Guidance, 0) || !(s.GuidanceRescale >= 0 && s.GuidanceRescale <= 1):
		return bad("guidance %v, rescale %v", s.Guidance, s.GuidanceRescale)
	case s.Steps < 0 || s.Steps > 100000 || s.BatchSize < 0 || s.BatchSize > 1<<16:
		return bad("steps %d, batch size %d", s.Steps, s.BatchSize)
	case ValidAsSite(s.AsSite) != nil:
		return bad("%v", ValidAsSite(s.AsSite))
	}
	return validateRef(s.DDPM, "ddpm", bad)
}

func (e *EvaluateSettings) validate(bad func(string, ...any) error) error {
	if len(e.Models) == 0 || len(e.Models) > 256 {
		return bad("%d models: want 1..256", len(e.Models))
	}
	for i, m := range e.Models {
		if err := validateRef(m, fmt.Sprintf("models[%d]", i), bad); err != nil {
			return err
		}
	}
	if e.Baseline != nil {
		if err := validateRef(*e.Baseline, "baseline", bad); err != nil {
			return err
		}
	}
	if e.BootstrapReps < 0 || e.BootstrapReps > 1e6 || (e.BootstrapReps > 0 && !(e.BootstrapLevel > 0 && e.BootstrapLevel < 1)) {
		return bad("bootstrap reps %d, level %v", e.BootstrapReps, e.BootstrapLevel)
	}
	return nil
}
