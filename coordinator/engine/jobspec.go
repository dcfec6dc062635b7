package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol/fed"
)

// Duration is a time.Duration that TOML reads and writes as a Go duration
// string such as "1m30s" (the project's one config.Duration).
type Duration = config.Duration

// JobKind is what a job does: train (federated rounds), sample or
// evaluate (docs/jobs.md). All reuse the same tasks and uploads.
type JobKind string

// Job kinds.
const (
	// JobTrain is federated training over rounds.
	JobTrain JobKind = "train"
	// JobSample draws synthetic replicas of every site's training rows from
	// a DDPM checkpoint; the images stay at the sites.
	JobSample JobKind = "sample"
	// JobEvaluate scores classifier checkpoints on sites' test sets; the
	// sites return aggregate metrics only.
	JobEvaluate JobKind = "evaluate"
)

// JobState is where a job stands.
type JobState string

// Job states.
const (
	JobPending JobState = "pending"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// JobSpec describes one job. It is what config files and, later, the admin
// API submit through Coordinator.Submit.
type JobSpec struct {
	// ID names the job; it must be unique in the store.
	ID string `toml:"id" json:"id"`
	// Kind is the job kind: train, sample or evaluate.
	Kind JobKind `toml:"kind" json:"kind"`
	// Model names the trainer the sites run (for example "logreg", "ddpm",
	// "classifier"); sample and evaluate jobs take it from their checkpoints.
	Model string `toml:"model" json:"model"`
	// Mode is a train job's training mode: fedavg (default), local or
	// finetune (see ExpandJob).
	Mode string `toml:"mode" json:"mode,omitempty"`
	// Rounds is the number of training rounds after the initial model.
	Rounds int `toml:"rounds" json:"rounds"`
	// Quorum is the least number of accepted updates that completes a round.
	Quorum int `toml:"quorum" json:"quorum"`
	// CohortSize caps the sites asked each round (0: every available site).
	CohortSize int `toml:"cohort_size" json:"cohort_size"`
	// Sites lists the participating sites (empty: any site that joins).
	Sites []string `toml:"sites" json:"sites"`
	// Seed seeds the initial model, cohort selection and local training.
	Seed int64 `toml:"seed" json:"seed"`
	// MaxAttempts is how often a round that misses its quorum is retried.
	MaxAttempts int `toml:"max_attempts" json:"max_attempts"`
	// Init says where the initial model comes from.
	Init InitSpec `toml:"init" json:"init"`
	// Deadlines bound each round phase.
	Deadlines Deadlines `toml:"deadlines" json:"deadlines"`
	// Train is the local training sent to sites.
	Train TrainSpec `toml:"train" json:"train"`
	// Strategy is the server-side aggregation strategy.
	Strategy StrategySpec `toml:"strategy" json:"strategy"`
	// Validation bounds accepted updates.
	Validation ValidationSpec `toml:"validation" json:"validation"`
	// SecureAggregation makes the coordinator learn only the weighted sum
	// of the sites' updates (crypto/secagg): true, false, or unset for the
	// coordinator's default (on with TLS credentials, off in insecure mode).
	SecureAggregation *bool `toml:"secure_aggregation" json:"secure_aggregation,omitempty"`
	// SecAgg tunes secure aggregation (threshold, fixed-point clip...).
	SecAgg secagg.Config `toml:"secagg" json:"secagg"`
	// Privacy is the job's differential privacy (needs secure aggregation).
	Privacy PrivacySpec `toml:"privacy" json:"privacy"`
	// SecureMetrics lists the metrics each site adds to its masked vector
	// in a secure round (fed.EncodeSecureMetrics), so that the round
	// summary carries their weighted means over the survivors, and nothing
	// per site. DefaultJobSpec sets DefaultSecureMetrics; empty: none. A
	// job with privacy carries none: they would leave without noise.
	SecureMetrics []string `toml:"secure_metrics" json:"secure_metrics"`
	// ModelConfig configures the sites' trainer (architecture and training
	// knobs, the trainer's own TOML tables); empty: its defaults.
	ModelConfig map[string]any `toml:"model_config" json:"model_config,omitempty"`
	// Data is the data recipe of a classifier train job.
	Data DataSpec `toml:"data" json:"data"`
	// Sample configures a sample job.
	Sample SampleSpec `toml:"sample" json:"sample"`
	// Evaluate configures an evaluate job.
	Evaluate EvaluateSpec `toml:"evaluate" json:"evaluate"`
	// Refs holds every reference of the spec resolved to the model it
	// names; the coordinator sets it at submission.
	Refs map[string]fed.ModelRef `toml:"-" json:"refs,omitempty"`
}

// InitSpec chooses the initial model: a checkpoint file (safetensors), or
// a site's Trainer.Init with the job seed.
type InitSpec struct {
	// Checkpoint is a safetensors file; empty means ask a site.
	Checkpoint string `toml:"checkpoint" json:"checkpoint"`
	// Site is the site asked for Init (empty: the first available, by name).
	Site string `toml:"site" json:"site"`
	// Model starts from a stored model: a content hash or "job:ID" of an
	// earlier train job's output.
	Model string `toml:"model" json:"model,omitempty"`
}

// Deadlines bound the phases of a round.
type Deadlines struct {
	// Select is how long a round waits for enough sites to be available.
	Select Duration `toml:"select" json:"select"`
	// Init is how long the init task may take.
	Init Duration `toml:"init" json:"init"`
	// Train is how long sites have to download, train and upload.
	Train Duration `toml:"train" json:"train"`
}

// TrainSpec is the local training sent to sites each round.
type TrainSpec struct {
	LocalSteps   int               `toml:"local_steps" json:"local_steps"`
	LocalEpochs  int               `toml:"local_epochs" json:"local_epochs"`
	BatchSize    int               `toml:"batch_size" json:"batch_size"`
	LearningRate float64           `toml:"learning_rate" json:"learning_rate"`
	Params       map[string]string `toml:"params" json:"params,omitempty"`
}

// ValidationSpec bounds accepted updates beyond names, shapes and finiteness.
type ValidationSpec struct {
	// MaxUpdateNorm refuses updates whose L2 distance from the global model
	// exceeds it (0: no bound).
	MaxUpdateNorm float64 `toml:"max_update_norm" json:"max_update_norm"`
	// MaxSamples refuses updates claiming more samples (0: no bound).
	MaxSamples int64 `toml:"max_samples" json:"max_samples"`
}

// Training modes of a train job.
const (
	// ModeFedAvg trains one global model over the listed sites with the
	// job's strategy (the default).
	ModeFedAvg = "fedavg"
	// ModeLocal trains at one site alone (a cohort of one, no averaging);
	// a spec listing several sites becomes one job per site.
	ModeLocal = "local"
	// ModeFinetune is ModeLocal starting from an earlier job's model
	// (init.model): per-site fine-tuning after FedAvg.
	ModeFinetune = "finetune"
)

// DataSpec is the data recipe of a classifier train job: which real and
// synthetic images each site trains on.
type DataSpec struct {
	// Real includes the site's real training rows (false: synthetic only).
	Real bool `toml:"real" json:"real"`
	// SyntheticLevel N adds replicas 0..N-1 of each real training row (N x
	// 100% supplementation).
	SyntheticLevel int `toml:"synthetic_level" json:"synthetic_level"`
	// SyntheticJob names the sample job whose set to use ("job:ID" or ID).
	SyntheticJob string `toml:"synthetic_job" json:"synthetic_job,omitempty"`
	// SyntheticCheckpoint names the set instead by the DDPM that drew it
	// (content hash or "job:ID"); the site must hold exactly one set of it.
	SyntheticCheckpoint string `toml:"synthetic_checkpoint" json:"synthetic_checkpoint,omitempty"`
	// RealFraction, when in (0,1], fixes the share of real images per
	// batch; 0 draws batches from the pooled images.
	RealFraction float64 `toml:"real_fraction" json:"real_fraction"`
	// SyntheticWeight multiplies the loss of synthetic images.
	SyntheticWeight float64 `toml:"synthetic_weight" json:"synthetic_weight"`
	// Fidelity optionally filters synthetic images.
	Fidelity FidelitySpec `toml:"fidelity" json:"fidelity"`
	// SyntheticSet is the resolved set ID (set by the coordinator).
	SyntheticSet string `toml:"-" json:"synthetic_set,omitempty"`
}

// FidelitySpec drops synthetic images whose conditioning labels a
// real-trained classifier contradicts: a conditioned-positive label scored
// under Threshold or a conditioned-negative one over 1-Threshold.
type FidelitySpec struct {
	// Checkpoint is the classifier (content hash or "job:ID"); empty: off.
	Checkpoint string  `toml:"checkpoint" json:"checkpoint,omitempty"`
	Threshold  float64 `toml:"threshold" json:"threshold"`
}

// SampleSpec configures a sample job.
type SampleSpec struct {
	// Checkpoint is the DDPM to sample from (content hash or "job:ID",
	// optionally "#ema" or "#final"). The coordinator rewrites a plain
	// "job:ID" into the explicit form that Weights chose.
	Checkpoint string `toml:"checkpoint" json:"checkpoint"`
	// Weights chooses the output of a "job:ID" checkpoint: "ema" (the
	// job's server EMA, an error when it keeps none), "final" (its final
	// global model), or "auto" or empty (the default: "ema" when the job
	// keeps a server EMA, else "final").
	Weights string `toml:"weights" json:"weights,omitempty"`
	// Levels is the most replicas per real training row (N).
	Levels int `toml:"levels" json:"levels"`
	// Guidance is the classifier-free guidance scale w (0: conditional).
	Guidance float64 `toml:"guidance" json:"guidance"`
	// GuidanceRescale is phi of the guidance rescale (0: off).
	GuidanceRescale float64 `toml:"guidance_rescale" json:"guidance_rescale"`
	// DDIMSteps is the number of DDIM steps (0: the model config's).
	DDIMSteps int `toml:"ddim_steps" json:"ddim_steps"`
	// BatchSize is the sampling batch (0: the model config's).
	BatchSize int `toml:"batch_size" json:"batch_size"`
	// AsSite chooses the site condition of a site-conditioned DDPM:
	// "own" (the default), "any" (the sites' mixture), "others" (replica r
	// as acquired at the r-th other site) or a site ID
	// (protocol.ValidAsSite). DDPMs without sites ignore it.
	AsSite string `toml:"as_site" json:"as_site,omitempty"`
	// SetID is the synthetic set's ID (set by the coordinator).
	SetID string `toml:"-" json:"set_id,omitempty"`
}

// EvaluateSpec configures an evaluate job; the job's sites are the test
// sets scored.
type EvaluateSpec struct {
	// Checkpoints are the classifiers to score (content hashes or "job:ID").
	Checkpoints []string `toml:"checkpoints" json:"checkpoints"`
	// Baseline is the classifier every checkpoint is compared with by
	// DeLong's paired test at each site (empty: none).
	Baseline string `toml:"baseline" json:"baseline,omitempty"`
	// BootstrapReps, BootstrapLevel and BootstrapSeed configure the
	// patient-level bootstrap intervals (0 reps: none).
	BootstrapReps  int     `toml:"bootstrap_reps" json:"bootstrap_reps"`
	BootstrapLevel float64 `toml:"bootstrap_level" json:"bootstrap_level"`
	BootstrapSeed  uint64  `toml:"bootstrap_seed" json:"bootstrap_seed"`
}

// DefaultJobSpec returns a train job's defaults: FedAvg, 5 rounds, a quorum
// of 2, generous deadlines, 3 attempts per round.
func DefaultJobSpec() JobSpec {
	return JobSpec{
		Kind: JobTrain, Model: "logreg", Rounds: 5, Quorum: 2, Seed: 1, MaxAttempts: 3,
		Deadlines:     Deadlines{Select: Duration(30e9), Init: Duration(60e9), Train: Duration(300e9)},
		Train:         TrainSpec{LocalSteps: 50},
		Strategy:      DefaultStrategySpec(),
		SecAgg:        secagg.DefaultConfig(),
		Privacy:       DefaultPrivacySpec(),
		SecureMetrics: DefaultSecureMetrics(),
		Data:          DefaultDataSpec(),
		Evaluate:      DefaultEvaluateSpec(),
	}
}

// DefaultDataSpec uses the real rows alone, synthetic weight 1.
func DefaultDataSpec() DataSpec {
	return DataSpec{Real: true, SyntheticWeight: 1, Fidelity: FidelitySpec{Threshold: 0.1}}
}

// DefaultEvaluateSpec uses 1000 patient-level bootstrap resamples at 95%.
func DefaultEvaluateSpec() EvaluateSpec {
	return EvaluateSpec{BootstrapReps: 1000, BootstrapLevel: 0.95, BootstrapSeed: 1}
}

// DecodeJobSpec decodes a job spec strictly over DefaultJobSpec (an unknown
// key is an error naming name:line) and validates it.
func DecodeJobSpec(data []byte, name string) (JobSpec, error) {
	s := DefaultJobSpec()
	if err := config.Decode(data, name, &s); err != nil {
		return s, err
	}
	return s, s.Validate(name)
}

var jobIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidJobID reports whether id is a well-formed job ID: 1 to 128 letters,
// digits, dots, underscores or dashes, starting with a letter or digit.
func ValidJobID(id string) error {
	if !jobIDRe.MatchString(id) {
		return fmt.Errorf("job id %q: want 1-128 of [A-Za-z0-9._-]: %w", id, fed.ErrMalformed)
	}
	return nil
}

// Validate reports every problem of the spec at once; prefix names it.
func (s JobSpec) Validate(prefix string) error {
	var p config.Problems
	if !jobIDRe.MatchString(s.ID) {
		p.Addf("%s.id = %q: want 1-128 of [A-Za-z0-9._-]", prefix, s.ID)
	}
	p.Add(s.validateKind(prefix))
	if s.Rounds < 0 || s.Rounds > 1e6 {
		p.Addf("%s.rounds = %d: want 0..1000000", prefix, s.Rounds)
	}
	if s.Quorum < 1 {
		p.Addf("%s.quorum = %d: want >= 1", prefix, s.Quorum)
	}
	if s.CohortSize < 0 || (s.CohortSize > 0 && s.CohortSize < s.Quorum) {
		p.Addf("%s.cohort_size = %d: want 0 or >= quorum %d", prefix, s.CohortSize, s.Quorum)
	}
	if len(s.Sites) > 0 && len(s.Sites) < s.Quorum {
		p.Addf("%s.sites lists %d sites, fewer than quorum %d", prefix, len(s.Sites), s.Quorum)
	}
	seen := map[string]bool{}
	for _, site := range s.Sites {
		if err := fed.ValidSiteID(site); err != nil || seen[site] {
			p.Addf("%s.sites: %q is invalid or repeated", prefix, site)
		}
		seen[site] = true
	}
	if s.MaxAttempts < 1 {
		p.Addf("%s.max_attempts = %d: want >= 1", prefix, s.MaxAttempts)
	}
	if s.Deadlines.Select <= 0 || s.Deadlines.Init <= 0 || s.Deadlines.Train <= 0 {
		p.Addf("%s.deadlines: select %v, init %v, train %v: all must be > 0", prefix, s.Deadlines.Select.D(), s.Deadlines.Init.D(), s.Deadlines.Train.D())
	}
	if s.Train.LocalSteps < 0 || s.Train.LocalEpochs < 0 || s.Train.BatchSize < 0 || s.Train.LearningRate < 0 {
		p.Addf("%s.train: negative steps, epochs, batch size or learning rate", prefix)
	}
	if s.Validation.MaxUpdateNorm < 0 || s.Validation.MaxSamples < 0 {
		p.Addf("%s.validation: negative bound", prefix)
	}
	p.Add(s.Strategy.Validate(prefix + ".strategy"))
	p.Add(s.validateSecure(prefix))
	if err := fed.ValidateSecureMetrics(s.SecureMetrics, SecureMetricBound); err != nil {
		p.Addf("%s.secure_metrics: %v", prefix, err)
	}
	return p.Err()
}

// isRef reports whether r is a content hash or a "job:ID" reference,
// optionally with an output selector ("#ema", "#final").
func isRef(r string) bool {
	if id, output, ok := JobRef(r); ok {
		return jobIDRe.MatchString(id) && validOutput(output) && r != RefJobPrefix+id+RefOutputSep
	}
	return fed.ValidHash(r) == nil
}

// validateKind checks the fields that depend on the job's kind.
func (s JobSpec) validateKind(prefix string) error {
	var p config.Problems
	ref := func(field, r string, required bool) {
		if r == "" && !required {
			return
		}
		if !isRef(r) {
			p.Addf("%s.%s = %q: want a 64-hex content hash or %q (optionally %q or %q)", prefix, field, r, RefJobPrefix+"<job id>",
				RefOutputSep+OutputEMA, RefOutputSep+OutputFinal)
		}
	}
	switch s.Kind {
	case JobTrain:
		if s.Model == "" {
			p.Addf("%s.model is empty", prefix)
		}
		p.Add(s.validateMode(prefix))
		p.Add(s.Data.validate(prefix+".data", s.Model))
		ref("init.model", s.Init.Model, false)
		if s.Init.Model != "" && s.Init.Checkpoint != "" {
			p.Addf("%s.init: checkpoint and model are exclusive", prefix)
		}
	case JobSample:
		ref("sample.checkpoint", s.Sample.Checkpoint, true)
		p.Add(validateWeights(prefix+".sample", s.Sample.Checkpoint, s.Sample.Weights))
		if s.Sample.Levels < 1 || s.Sample.Levels > 1000 {
			p.Addf("%s.sample.levels = %d: want 1..1000", prefix, s.Sample.Levels)
		}
		if !(s.Sample.Guidance >= 0) || math.IsInf(s.Sample.Guidance, 0) || !(s.Sample.GuidanceRescale >= 0 && s.Sample.GuidanceRescale <= 1) {
			p.Addf("%s.sample: guidance %v >= 0 and guidance_rescale %v in [0,1] required", prefix, s.Sample.Guidance, s.Sample.GuidanceRescale)
		}
		if s.Sample.DDIMSteps < 0 || s.Sample.BatchSize < 0 {
			p.Addf("%s.sample: negative ddim_steps or batch_size", prefix)
		}
		if err := fed.ValidAsSite(s.Sample.AsSite); err != nil {
			p.Addf("%s.sample: %v", prefix, err)
		}
	case JobEvaluate:
		if len(s.Evaluate.Checkpoints) == 0 {
			p.Addf("%s.evaluate.checkpoints is empty", prefix)
		}
		for i, c := range s.Evaluate.Checkpoints {
			ref(fmt.Sprintf("evaluate.checkpoints[%d]", i), c, true)
		}
		ref("evaluate.baseline", s.Evaluate.Baseline, false)
		e := s.Evaluate
		if e.BootstrapReps < 0 || e.BootstrapReps > 100000 || (e.BootstrapReps > 0 && !(e.BootstrapLevel > 0 && e.BootstrapLevel < 1)) {
			p.Addf("%s.evaluate: bootstrap_reps %d in 0..100000 and bootstrap_level %v in (0,1) required", prefix, e.BootstrapReps, e.BootstrapLevel)
		}
	default:
		p.Addf("%s.kind = %q: want train, sample or evaluate", prefix, s.Kind)
	}
	if s.Kind != JobTrain && s.Mode != "" && s.Mode != ModeFedAvg {
		p.Addf("%s.mode = %q: only train jobs have a mode", prefix, s.Mode)
	}
	if _, err := json.Marshal(s.ModelConfig); err != nil {
		p.Addf("%s.model_config: %v", prefix, err)
	}
	return p.Err()
}

func (s JobSpec) validateMode(prefix string) error {
	var p config.Problems
	switch s.Mode {
	case "", ModeFedAvg:
	case ModeLocal, ModeFinetune:
		if len(s.Sites) == 0 {
			p.Addf("%s.mode = %q needs the sites listed (one job per site)", prefix, s.Mode)
		}
		if s.Mode == ModeFinetune && s.Init.Model == "" {
			p.Addf("%s.mode = %q needs init.model: the model to fine-tune", prefix, s.Mode)
		}
	default:
		p.Addf("%s.mode = %q: want fedavg, local or finetune", prefix, s.Mode)
	}
	return p.Err()
}

func (d DataSpec) validate(prefix, model string) error {
	var p config.Problems
	if d.SyntheticLevel < 0 || d.SyntheticLevel > 1000 {
		p.Addf("%s.synthetic_level = %d: want 0..1000", prefix, d.SyntheticLevel)
	}
	if !d.Real && d.SyntheticLevel == 0 {
		p.Addf("%s: real = false needs synthetic_level > 0", prefix)
	}
	if d.SyntheticLevel > 0 {
		switch {
		case d.SyntheticJob == "" && d.SyntheticCheckpoint == "":
			p.Addf("%s.synthetic_level = %d needs synthetic_job or synthetic_checkpoint", prefix, d.SyntheticLevel)
		case d.SyntheticJob != "" && d.SyntheticCheckpoint != "":
			p.Addf("%s: synthetic_job and synthetic_checkpoint are exclusive", prefix)
		}
		if model != "" && model != "classifier" {
			p.Addf("%s: synthetic supplementation is for model \"classifier\", not %q", prefix, model)
		}
	}
	if j := strings.TrimPrefix(d.SyntheticJob, RefJobPrefix); d.SyntheticJob != "" && !jobIDRe.MatchString(j) {
		p.Addf("%s.synthetic_job = %q: not a job ID", prefix, d.SyntheticJob)
	}
	if d.SyntheticCheckpoint != "" && !isRef(d.SyntheticCheckpoint) {
		p.Addf("%s.synthetic_checkpoint = %q: want a content hash or job:<id>", prefix, d.SyntheticCheckpoint)
	}
	if !(d.RealFraction >= 0 && d.RealFraction <= 1) {
		p.Addf("%s.real_fraction = %v: want in [0,1]", prefix, d.RealFraction)
	}
	if !(d.SyntheticWeight >= 0) || math.IsInf(d.SyntheticWeight, 0) {
		p.Addf("%s.synthetic_weight = %v: want >= 0", prefix, d.SyntheticWeight)
	}
	if f := d.Fidelity; f.Checkpoint != "" {
		if !isRef(f.Checkpoint) {
			p.Addf("%s.fidelity.checkpoint = %q: want a content hash or job:<id>", prefix, f.Checkpoint)
		}
		if !(f.Threshold > 0 && f.Threshold < 0.5) {
			p.Addf("%s.fidelity.threshold = %v: want in (0, 0.5)", prefix, f.Threshold)
		}
	}
	return p.Err()
}

// ModelConfigJSON returns the spec's model configuration as a JSON object
// (nil when there is none).
func (s JobSpec) ModelConfigJSON() (json.RawMessage, error) {
	if len(s.ModelConfig) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(s.ModelConfig)
	if err != nil {
		return nil, fmt.Errorf("job %s model_config: %w", s.ID, err)
	}
	return b, nil
}

// ExpandJob returns the jobs a spec stands for: the spec itself, or for
// mode local and finetune one job per listed site, called "<id>.<site>",
// each a cohort of that one site with quorum 1.
func ExpandJob(s JobSpec) []JobSpec {
	if s.Kind != JobTrain || (s.Mode != ModeLocal && s.Mode != ModeFinetune) {
		return []JobSpec{s}
	}
	out := make([]JobSpec, 0, len(s.Sites))
	for _, site := range s.Sites {
		c := s
		c.ID = s.ID + "." + site
		c.Sites, c.Quorum, c.CohortSize = []string{site}, 1, 0
		c.Init.Site = ""
		out = append(out, c)
	}
	return out
}
func (s JobSpec) String() string {
	return fmt.Sprintf("job %s (%s, %s, %d rounds, quorum %d)", s.ID, s.Model, s.Strategy.Name, s.Rounds, s.Quorum)
}
