package protocol

import (
	"fmt"
	"math"
	"regexp"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Task kinds. New kinds are added here and carried in Task.extension.
const (
	// KindInit asks a site for freshly initialised weights (Trainer.Init).
	KindInit = "init"
	// KindTrain asks a site for one round of local training.
	KindTrain = "train"
	// KindPhase opens an aggregator-defined round phase (for example secure
	// aggregation's key exchange); Task.extension carries its payload and
	// the site answers with Exchange.
	KindPhase = "phase"
)

// NonceLen is the length of the random nonce that binds an upload to a task.
const NonceLen = 16

// MaxMetrics bounds the number of metrics in one update.
const MaxMetrics = 256

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

// ValidateJoin checks a decoded JoinRequest (the version is checked apart,
// with CheckVersion, so that a mismatch gets its own refusal).
func ValidateJoin(m *fedpb.JoinRequest) error {
	if err := ValidSiteID(m.GetSiteId()); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if len(m.GetModels()) > 64 || len(m.GetAgentVersion()) > 128 || len(m.GetGossipAddr()) > 256 {
		return fmt.Errorf("join from %q: oversized field: %w", m.GetSiteId(), ErrMalformed)
	}
	return nil
}

// ValidateTask checks a decoded Task before an agent acts on it.
func ValidateTask(m *fedpb.Task) error {
	if m.GetTaskId() == "" || len(m.GetTaskId()) > 256 {
		return fmt.Errorf("task: id of %d bytes: %w", len(m.GetTaskId()), ErrMalformed)
	}
	if m.GetCancel() {
		return nil
	}
	id := m.GetTaskId()
	switch {
	case m.GetJobId() == "":
		return fmt.Errorf("task %s: no job id: %w", id, ErrMalformed)
	case m.GetRound() < 0 || m.GetAttempt() < 0:
		return fmt.Errorf("task %s: round %d attempt %d: %w", id, m.GetRound(), m.GetAttempt(), ErrMalformed)
	case len(m.GetNonce()) != NonceLen:
		return fmt.Errorf("task %s: nonce of %d bytes, want %d: %w", id, len(m.GetNonce()), NonceLen, ErrMalformed)
	}
	switch m.GetKind() {
	case KindInit:
		if m.GetInit() == nil {
			return fmt.Errorf("task %s: init task without init spec: %w", id, ErrMalformed)
		}
	case KindTrain:
		if m.GetTrain() == nil || m.GetModelHash() == "" {
			return fmt.Errorf("task %s: train task without train spec or model hash: %w", id, ErrMalformed)
		}
		return validateTrainSpec(id, m.GetTrain())
	default:
		if m.GetExtension() == nil {
			return fmt.Errorf("task %s: kind %q without extension spec: %w", id, m.GetKind(), ErrMalformed)
		}
	}
	return nil
}

func validateTrainSpec(id string, s *fedpb.TrainSpec) error {
	switch {
	case s.GetLocalSteps() < 0 || s.GetLocalEpochs() < 0 || s.GetBatchSize() < 0:
		return fmt.Errorf("task %s: negative steps, epochs or batch size: %w", id, ErrMalformed)
	case !finite(s.GetLearningRate()) || s.GetLearningRate() < 0 || !finite(s.GetProxMu()) || s.GetProxMu() < 0:
		return fmt.Errorf("task %s: learning rate %v, prox mu %v: %w", id, s.GetLearningRate(), s.GetProxMu(), ErrMalformed)
	}
	for _, p := range s.GetLocalOnly() {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("task %s: local-only pattern %q: %v: %w", id, p, err, ErrMalformed)
		}
	}
	if err := ValidateSecureMetrics(s.GetSecureMetrics(), s.GetSecureMetricBound()); err != nil {
		return fmt.Errorf("task %s: %w", id, err)
	}
	return nil
}

// ValidateUpdateMeta checks the metadata that opens an upload.
func ValidateUpdateMeta(m *fedpb.UpdateMeta) error {
	switch {
	case m.GetSessionId() == "" || m.GetTaskId() == "" || m.GetJobId() == "":
		return fmt.Errorf("update: missing session, task or job id: %w", ErrMalformed)
	case m.GetRound() < 0 || m.GetAttempt() < 0:
		return fmt.Errorf("update for task %s: round %d attempt %d: %w", m.GetTaskId(), m.GetRound(), m.GetAttempt(), ErrMalformed)
	case len(m.GetNonce()) != NonceLen:
		return fmt.Errorf("update for task %s: nonce of %d bytes: %w", m.GetTaskId(), len(m.GetNonce()), ErrMalformed)
	case m.GetNumSamples() < 0 || m.GetNumSamples() > 1<<40:
		return fmt.Errorf("update for task %s: %d samples: %w", m.GetTaskId(), m.GetNumSamples(), ErrMalformed)
	case len(m.GetMetrics()) > MaxMetrics:
		return fmt.Errorf("update for task %s: %d metrics: %w", m.GetTaskId(), len(m.GetMetrics()), ErrMalformed)
	}
	for k, v := range m.GetMetrics() {
		if !finite(v) || len(k) > 128 {
			return fmt.Errorf("update for task %s: metric %q = %v: %w", m.GetTaskId(), k, v, ErrMalformed)
		}
	}
	return nil
}

// ValidateHeartbeat checks a decoded HeartbeatRequest.
func ValidateHeartbeat(m *fedpb.HeartbeatRequest) error {
	if m.GetSessionId() == "" || len(m.GetState()) > 64 || !finite(m.GetProgress()) {
		return fmt.Errorf("heartbeat: bad session, state or progress: %w", ErrMalformed)
	}
	return nil
}

// ValidateDownload checks a decoded DownloadRequest.
func ValidateDownload(m *fedpb.DownloadRequest) error {
	if m.GetSessionId() == "" || m.GetModelHash() == "" || m.GetChunkSize() > MaxChunkSize {
		return fmt.Errorf("download: bad session, model hash or chunk size %d: %w", m.GetChunkSize(), ErrMalformed)
	}
	return nil
}

// ValidatePhase checks a decoded PhaseMessage.
func ValidatePhase(m *fedpb.PhaseMessage) error {
	if m.GetSessionId() == "" || m.GetJobId() == "" || m.GetPhase() == "" || m.GetPayload() == nil {
		return fmt.Errorf("phase message: missing session, job, phase or payload: %w", ErrMalformed)
	}
	return nil
}

// TrainSpecToModel converts a wire TrainSpec of a task to the trainer's form.
func TrainSpecToModel(t *fedpb.Task) model.TrainSpec {
	s := t.GetTrain()
	return model.TrainSpec{
		JobID: t.GetJobId(), Round: int(t.GetRound()),
		LocalSteps: int(s.GetLocalSteps()), LocalEpochs: int(s.GetLocalEpochs()),
		BatchSize: int(s.GetBatchSize()), LearningRate: s.GetLearningRate(),
		ProxMu: s.GetProxMu(), Seed: s.GetSeed(), Params: s.GetParams(),
	}
}

// TrainSpecFromModel converts a trainer TrainSpec to its wire form.
func TrainSpecFromModel(s model.TrainSpec, localOnly []string) *fedpb.TrainSpec {
	return &fedpb.TrainSpec{
		LocalSteps: int32(s.LocalSteps), LocalEpochs: int32(s.LocalEpochs),
		BatchSize: int32(s.BatchSize), LearningRate: s.LearningRate,
		ProxMu: s.ProxMu, Seed: s.Seed, Params: s.Params, LocalOnly: localOnly,
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
