package protocol

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fed"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Task kinds, the nonce length and site IDs (package fed holds them).
const (
	KindInit  = fed.KindInit
	KindTrain = fed.KindTrain
	KindPhase = fed.KindPhase
	NonceLen  = fed.NonceLen
)

// MaxMetrics bounds the number of metrics in one update.
const MaxMetrics = 256

// MaxLocalOnly bounds the local-only patterns of one train spec.
const MaxLocalOnly = 256

// ValidSiteID reports whether id is a well-formed site identity
// (fed.ValidSiteID).
func ValidSiteID(id string) error { return fed.ValidSiteID(id) }

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
		return ValidateTrainSpec(id, m.GetTrain())
	default:
		if m.GetExtension() == nil {
			return fmt.Errorf("task %s: kind %q without extension spec: %w", id, m.GetKind(), ErrMalformed)
		}
	}
	return nil
}

// ValidateTrainSpec checks the local training of task id: of a train task,
// or of a secure round's masked-input phase. The local-only patterns are
// the site's to compile (once per job).
func ValidateTrainSpec(id string, s *fedpb.TrainSpec) error {
	switch {
	case s.GetLocalSteps() < 0 || s.GetLocalEpochs() < 0 || s.GetBatchSize() < 0:
		return fmt.Errorf("task %s: negative steps, epochs or batch size: %w", id, ErrMalformed)
	case !finite(s.GetLearningRate()) || s.GetLearningRate() < 0 || !finite(s.GetProxMu()) || s.GetProxMu() < 0:
		return fmt.Errorf("task %s: learning rate %v, prox mu %v: %w", id, s.GetLearningRate(), s.GetProxMu(), ErrMalformed)
	case len(s.GetLocalOnly()) > MaxLocalOnly:
		return fmt.Errorf("task %s: %d local-only patterns: %w", id, len(s.GetLocalOnly()), ErrMalformed)
	}
	if err := fed.ValidateSecureMetrics(s.GetSecureMetrics(), s.GetSecureMetricBound()); err != nil {
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

// TrainSpecToModel converts the wire TrainSpec of job's task in round to
// the trainer's form (the site's one conversion of it).
func TrainSpecToModel(job string, round int, s *fedpb.TrainSpec) model.TrainSpec {
	return model.TrainSpec{
		JobID: job, Round: round,
		LocalSteps: int(s.GetLocalSteps()), LocalEpochs: int(s.GetLocalEpochs()),
		BatchSize: int(s.GetBatchSize()), LearningRate: s.GetLearningRate(),
		ProxMu: s.GetProxMu(), Seed: s.GetSeed(), Params: s.GetParams(),
	}
}

// TrainSpecFromModel converts a trainer TrainSpec to its wire form (the
// coordinator's one conversion of it).
func TrainSpecFromModel(s model.TrainSpec, localOnly []string) *fedpb.TrainSpec {
	return &fedpb.TrainSpec{
		LocalSteps: int32(s.LocalSteps), LocalEpochs: int32(s.LocalEpochs),
		BatchSize: int32(s.BatchSize), LearningRate: s.LearningRate,
		ProxMu: s.ProxMu, Seed: s.Seed, Params: s.Params, LocalOnly: localOnly,
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
