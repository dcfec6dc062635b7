package coordinator

import (
	"fmt"
	"regexp"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol"
)

// JobKind is what a job does: train (federated rounds, here), sample and
// evaluate (jobspec.go; docs/jobs.md). All reuse the same tasks and
// uploads.
type JobKind string

// Job kinds.
const (
	// JobTrain is federated training over rounds.
	JobTrain JobKind = "train"
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
	// in a secure round (protocol.EncodeSecureMetrics), so that the round
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
	Refs map[string]protocol.ModelRef `toml:"-" json:"refs,omitempty"`
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

var jobIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

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
		if err := protocol.ValidSiteID(site); err != nil || seen[site] {
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
	if err := protocol.ValidateSecureMetrics(s.SecureMetrics, SecureMetricBound); err != nil {
		p.Addf("%s.secure_metrics: %v", prefix, err)
	}
	return p.Err()
}

// localOnly compiles the FedBN patterns; Validate has checked them.
func (s JobSpec) localOnly() []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(s.Strategy.LocalOnly))
	for _, pat := range s.Strategy.LocalOnly {
		out = append(out, regexp.MustCompile(pat))
	}
	return out
}

// isLocal reports whether tensor name matches one of the patterns.
func isLocal(pats []*regexp.Regexp, name string) bool {
	for _, re := range pats {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func (s JobSpec) String() string {
	return fmt.Sprintf("job %s (%s, %s, %d rounds, quorum %d)", s.ID, s.Model, s.Strategy.Name, s.Rounds, s.Quorum)
}
