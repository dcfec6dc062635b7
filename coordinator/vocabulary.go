package coordinator

import "github.com/synthfed/synthfed/coordinator/engine"

// The engine's vocabulary, re-exported for the coordinator's users (job
// specs, statuses, round summaries, audit events): the same types and
// values as in package engine, which defines and documents them.

// Job specs (engine/jobspec.go).
type (
	JobSpec        = engine.JobSpec
	JobKind        = engine.JobKind
	JobState       = engine.JobState
	InitSpec       = engine.InitSpec
	Deadlines      = engine.Deadlines
	TrainSpec      = engine.TrainSpec
	ValidationSpec = engine.ValidationSpec
	StrategySpec   = engine.StrategySpec
	PrivacySpec    = engine.PrivacySpec
	DataSpec       = engine.DataSpec
	FidelitySpec   = engine.FidelitySpec
	SampleSpec     = engine.SampleSpec
	EvaluateSpec   = engine.EvaluateSpec
	Duration       = engine.Duration
)

// Job kinds, states, modes, strategies and outputs.
const (
	JobTrain        = engine.JobTrain
	JobSample       = engine.JobSample
	JobEvaluate     = engine.JobEvaluate
	JobPending      = engine.JobPending
	JobRunning      = engine.JobRunning
	JobDone         = engine.JobDone
	JobFailed       = engine.JobFailed
	ModeFedAvg      = engine.ModeFedAvg
	ModeLocal       = engine.ModeLocal
	ModeFinetune    = engine.ModeFinetune
	StrategyFedAvg  = engine.StrategyFedAvg
	StrategyFedProx = engine.StrategyFedProx
	StrategyFedAdam = engine.StrategyFedAdam
	StrategyFedYogi = engine.StrategyFedYogi
	StrategyFedBN   = engine.StrategyFedBN
	RefJobPrefix    = engine.RefJobPrefix
	OutputFinal     = engine.OutputFinal
	OutputEMA       = engine.OutputEMA
	WeightsAuto     = engine.WeightsAuto
)

// Spec defaults and decoding.
var (
	DefaultJobSpec      = engine.DefaultJobSpec
	DefaultStrategySpec = engine.DefaultStrategySpec
	DecodeJobSpec       = engine.DecodeJobSpec
	ExpandJob           = engine.ExpandJob
)

// Statuses, summaries and the audit log (engine/effects.go, reads.go).
type (
	JobStatus    = engine.JobStatus
	SiteTask     = engine.SiteTask
	RoundSummary = engine.RoundSummary
	AuditEntry   = engine.AuditEntry
	Counters     = engine.Counters
	Phase        = engine.Phase
	Reason       = engine.Reason
)

// Audit events.
const (
	EventRejected    = engine.EventRejected
	EventAccepted    = engine.EventAccepted
	EventDropout     = engine.EventDropout
	EventSiteUp      = engine.EventSiteUp
	EventAbsent      = engine.EventAbsent
	EventSiteDown    = engine.EventSiteDown
	EventAttempt     = engine.EventAttempt
	EventCommitted   = engine.EventCommitted
	EventJobStart    = engine.EventJobStart
	EventJobEnd      = engine.EventJobEnd
	EventTaskFailed  = engine.EventTaskFailed
	EventResult      = engine.EventResult
	EventCallRefused = engine.EventCallRefused
)

// Reasons of refusals and dropouts (engine/reasons.go).
const (
	ReasonStale          = engine.ReasonStale
	ReasonLate           = engine.ReasonLate
	ReasonDuplicate      = engine.ReasonDuplicate
	ReasonBadNonce       = engine.ReasonBadNonce
	ReasonNotInCohort    = engine.ReasonNotInCohort
	ReasonShape          = engine.ReasonShape
	ReasonNonFinite      = engine.ReasonNonFinite
	ReasonNormBound      = engine.ReasonNormBound
	ReasonSamples        = engine.ReasonSamples
	ReasonMalformed      = engine.ReasonMalformed
	ReasonDeadlineMissed = engine.ReasonDeadlineMissed
	ReasonTaskRefused    = engine.ReasonTaskRefused
	ReasonCertRevoked    = engine.ReasonCertRevoked
)

// Sentinels a caller of Submit or Cancel may meet.
var (
	ErrJobExists           = engine.ErrJobExists
	ErrJobEnded            = engine.ErrJobEnded
	ErrNoSecureAggregation = engine.ErrNoSecureAggregation
)
