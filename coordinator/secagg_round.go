package coordinator

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Audit reasons of secure rounds.
const (
	// ReasonTaskRefused marks a site that refused its part in a round
	// (for example over its privacy budget); the detail says why.
	ReasonTaskRefused = "task_refused"
)

// secureRound drives one secure round: it wraps a secagg.Server, opens each
// phase with the messages the previous one produced, routes the sites'
// messages (joining masked inputs sent in parts) and decodes the sum.
type secureRound struct {
	cfg       SecureConfig
	log       *slog.Logger
	info      RoundInfo
	specs     []model.TensorSpec
	spec      *secagg.RoundSpec
	srv       *secagg.Server
	phase     string
	box       secagg.Outbox
	asm       *secagg.Assembler
	down      map[string]bool
	events    []DriverEvent
	opened    time.Time
	metrics   map[string]float64
	result    model.Weights
	survivors []string
	samples   int64
	modelLen  int      // elements of the shared model in the masked vector
	names     []string // the round's metrics, after the model (protocol.EncodeSecureMetrics)
}

// newSecureRound derives the round's parameters (t is at least the job's
// quorum) and a fresh session, and starts the aggregator state machine.
func newSecureRound(cfg SecureConfig, specs []model.TensorSpec, info RoundInfo) (*secureRound, error) {
	modelLen := 0
	for _, s := range specs {
		n, _ := model.NumElements(s.Shape)
		modelLen += n
	}
	names := info.Job.roundMetrics()
	length := modelLen + protocol.SecureMetricElems*len(names)
	n := len(info.Cohort)
	where := fmt.Sprintf("job %s round %d attempt %d", info.Job.ID, info.Round, info.Attempt)
	params, err := info.Job.secAggConfig().Params(n, length)
	if err != nil {
		return nil, fmt.Errorf("%s: secure aggregation over %d sites: %w", where, n, err)
	}
	params.Threshold = max(params.Threshold, min(info.Job.Quorum, n))
	var salt [8]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("%s: session salt: %w", where, err)
	}
	roster := slices.Clone(info.Cohort)
	slices.Sort(roster)
	ctx := secagg.Context{Session: fmt.Sprintf("%s/a%d/%x", info.Job.ID, info.Attempt, salt), Round: uint64(info.Round),
		Roster: roster, Params: params}
	srv, err := secagg.NewServer(secagg.ServerConfig{Context: ctx, VerifyIdentity: cfg.Verify, Workers: cfg.Workers, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pr := info.Job.Privacy
	spec := &secagg.RoundSpec{Version: 1, Context: ctx, Job: info.Job.ID, Attempt: info.Attempt,
		RoundsLeft: max(info.Job.Rounds-info.Round+1, 1), NormBound: info.Job.Validation.MaxUpdateNorm,
		MaxWeight: float64(info.Job.Validation.MaxSamples),
		Privacy:   secagg.PrivacySpec{Enabled: pr.Enabled, ClipNorm: pr.ClipNorm, NoiseMultiplier: pr.NoiseMultiplier}}
	s := &secureRound{cfg: cfg, log: cfg.Logger.With("job", info.Job.ID, "round", info.Round, "attempt", info.Attempt),
		info: info, specs: specs, spec: spec, srv: srv, down: map[string]bool{}, metrics: map[string]float64{},
		asm: secagg.NewAssembler(4*(length+1) + 64<<10), modelLen: modelLen, names: names}
	s.log.Info("secure round", "session", ctx.Session, "sites", n, "threshold", params.Threshold, "length", length,
		"privacy", pr.Enabled, "sparse_k", params.Neighbours)
	return s, nil
}

// Open returns each site's opening payload of phase.
func (s *secureRound) Open(phase string, _ []string) (map[string]*anypb.Any, error) {
	s.phase = phase
	if s.cfg.Clock != nil {
		s.opened = s.cfg.Clock.Now()
	}
	out := map[string]*anypb.Any{}
	if phase == PhaseSecAdvertise {
		b, err := s.spec.MarshalBinary()
		if err != nil {
			return nil, err
		}
		a := &anypb.Any{TypeUrl: secagg.TypeURL(secagg.KindRoundSpec), Value: b}
		for _, site := range s.spec.Context.Roster {
			if !s.down[site] {
				out[site] = a
			}
		}
		return out, nil
	}
	encoded := map[secagg.Message]*anypb.Any{}
	for site, m := range s.box {
		if s.down[site] {
			continue
		}
		a, err := s.payload(phase, site, m, encoded)
		if err != nil {
			return nil, err
		}
		out[site] = a
	}
	s.box = nil
	return out, nil
}

// payload encodes the message that opens phase for site: an InputRequest
// (the relay and the site's training) for the masked-input phase, the
// aggregator's message itself otherwise (encoded once when shared).
func (s *secureRound) payload(phase, site string, m secagg.Message, encoded map[secagg.Message]*anypb.Any) (*anypb.Any, error) {
	if phase == PhaseSecInput {
		relay, ok := m.(*secagg.ShareKeysRelay)
		if !ok {
			return nil, fmt.Errorf("secure round: %s opens with %s, want a relay", phase, m.Type())
		}
		ts := protocol.TrainSpecFromModel(s.info.Train[site], s.info.Job.Strategy.LocalOnly)
		if len(s.names) > 0 {
			ts.SecureMetrics, ts.SecureMetricBound = s.names, SecureMetricBound
		}
		train, err := proto.Marshal(ts)
		if err != nil {
			return nil, err
		}
		b, err := (&secagg.InputRequest{Relay: relay, Train: train}).MarshalBinary()
		return &anypb.Any{TypeUrl: secagg.TypeURL(secagg.KindInputRequest), Value: b}, err
	}
	if a, ok := encoded[m]; ok {
		return a, nil
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	a := &anypb.Any{TypeUrl: secagg.TypeURL(m.Type().String()), Value: b}
	encoded[m] = a
	return a, nil
}

// HandlePhase takes one message of site: a protocol message, a part of
// one, or the site's refusal to take part.
func (s *secureRound) HandlePhase(site string, pm *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	ack := &fedpb.PhaseMessage{JobId: pm.GetJobId(), Round: pm.GetRound(), Attempt: pm.GetAttempt(), Phase: pm.GetPhase()}
	p := pm.GetPayload()
	kind, err := secagg.KindOf(p.GetTypeUrl())
	if err != nil {
		return nil, s.refuse(site, err)
	}
	var msg secagg.Message
	switch kind {
	case secagg.KindRefusal:
		f, err := secagg.DecodeRefusal(p.GetValue())
		if err != nil {
			return nil, s.refuse(site, err)
		}
		s.drop(site, ReasonTaskRefused, f.Reason+": "+f.Detail)
		return ack, nil
	case secagg.KindPart:
		var whole []byte
		if kind, whole, err = s.joinPart(site, p.GetValue()); err != nil || whole == nil {
			return ack, s.refuse(site, err)
		}
		msg, err = secagg.DecodeTyped(secagg.TypeURL(kind), whole)
	default:
		msg, err = secagg.DecodeTyped(p.GetTypeUrl(), p.GetValue())
	}
	if err == nil {
		err = s.srv.Handle(site, msg)
	}
	if err != nil {
		return nil, s.refuse(site, err)
	}
	return ack, nil
}

// joinPart adds a part of a masked input; it returns the whole payload
// once the last part is in.
func (s *secureRound) joinPart(site string, b []byte) (string, []byte, error) {
	if s.phase != PhaseSecInput || s.asm == nil {
		return "", nil, fmt.Errorf("%w: a part outside the masked-input phase", secagg.ErrPhase)
	}
	part, err := secagg.DecodePart(b)
	if err != nil {
		return "", nil, err
	}
	return s.asm.Add(site, part)
}

// refuse records a refused message (nil err: nothing to refuse). The site
// is dropped from the round unless the message was a mere duplicate.
func (s *secureRound) refuse(site string, err error) error {
	if err == nil {
		return nil
	}
	reason := secaggReason(err)
	if errors.Is(err, secagg.ErrReplay) {
		s.events = append(s.events, DriverEvent{Site: site, Reason: reason, Detail: err.Error()})
	} else {
		s.drop(site, reason, err.Error())
	}
	return fmt.Errorf("site %s phase %s: %w: %w", site, s.phase, protocol.ErrInvalidUpdate, err)
}

// secaggReasons are the secagg sentinels that name refusals.
var secaggReasons = []error{secagg.ErrBadSignature, secagg.ErrReplay, secagg.ErrWrongContext, secagg.ErrUnknownSite,
	secagg.ErrIDMismatch, secagg.ErrIdentity, secagg.ErrLowOrderKey, secagg.ErrBadKey, secagg.ErrDuplicateShare,
	secagg.ErrBadShare, secagg.ErrBothShares, secagg.ErrInconsistentView, secagg.ErrPhase, secagg.ErrAborted, secagg.ErrMalformed}

// secaggReason names a refusal for counters and the audit log:
// "secagg_" and its sentinel's words.
func secaggReason(err error) string {
	for _, s := range secaggReasons {
		if errors.Is(err, s) {
			return "secagg_" + strings.ReplaceAll(s.Error(), " ", "_")
		}
	}
	return "secagg_" + ReasonOther
}

// drop takes site out of the round and queues its dropout for the audit log.
func (s *secureRound) drop(site, reason, detail string) {
	if s.down[site] || !slices.Contains(s.spec.Context.Roster, site) {
		return
	}
	s.down[site] = true
	if s.asm != nil {
		s.asm.Drop(site)
	}
	s.events = append(s.events, DriverEvent{Site: site, Dropped: true, Reason: reason, Detail: detail})
	s.log.Warn("site dropped from secure round", "site", site, "phase", s.phase, "reason", reason, "detail", detail)
}

// Pending lists the sites phase still waits for: those the aggregator
// expects that have not failed or been dropped.
func (s *secureRound) Pending(phase string) []string {
	if phase != s.phase {
		return nil
	}
	var out []string
	for _, site := range s.srv.Pending() {
		if !s.down[site] {
			out = append(out, site)
		}
	}
	return out
}

// SiteDown drops a failed site (gossip, heartbeat timeout).
func (s *secureRound) SiteDown(site, reason string) { s.drop(site, reason, "failed during "+s.phase) }

// TakeEvents returns and clears the round's audit events.
func (s *secureRound) TakeEvents() []DriverEvent {
	out := s.events
	s.events = nil
	return out
}

// Close ends phase: silent sites are dropped, the aggregator advances (it
// aborts below t survivors: the attempt then fails with no output), and
// after unmasking the mean is decoded.
func (s *secureRound) Close(phase string) error {
	for _, site := range s.Pending(phase) {
		s.drop(site, ReasonDeadlineMissed, "no "+phase+" message before the phase deadline")
	}
	if s.cfg.Clock != nil {
		s.metrics["secagg_"+strings.TrimPrefix(phase, "secagg-")+"_s"] = s.cfg.Clock.Since(s.opened).Seconds()
	}
	if phase == PhaseSecInput {
		s.asm = nil
	}
	box, err := s.srv.Advance()
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	s.box = box
	if phase != PhaseSecUnmask {
		return nil
	}
	return s.finish()
}

// finish decodes the securely summed update into the next global model:
// the current one plus the weighted mean of the survivors' updates.
func (s *secureRound) finish() error {
	res, err := s.srv.Result()
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	if len(res.Survivors) < s.info.Job.Quorum {
		return fmt.Errorf("secure aggregation: %d sites in the sum, quorum %d: %w", len(res.Survivors), s.info.Job.Quorum, secagg.ErrTooFewSurvivors)
	}
	if !(res.WeightSum > 0) {
		return fmt.Errorf("secure aggregation: sum of weights %v: %w", res.WeightSum, secagg.ErrTooFewSurvivors)
	}
	g := s.info.Global.Flatten()
	if len(g) != s.modelLen || len(res.Sum) != s.modelLen+protocol.SecureMetricElems*len(s.names) {
		return fmt.Errorf("secure aggregation: sum of %d elements for a model of %d and %d metrics: %w", len(res.Sum), len(g), len(s.names), model.ErrShape)
	}
	next := make([]float32, len(g))
	for i, v := range res.Sum[:s.modelLen] {
		next[i] = float32(float64(g[i]) + v/res.WeightSum)
	}
	means, err := protocol.DecodeSecureMetrics(res.Sum[s.modelLen:], s.names, SecureMetricBound)
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	w, err := model.Unflatten(s.specs, next)
	if err == nil {
		err = w.CheckFinite()
	}
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	s.result, s.survivors = w, res.Survivors
	s.samples = int64(math.Round(res.WeightSum * s.spec.Context.Params.MaxWeight))
	maps.Copy(s.metrics, means) // weighted means over the survivors only
	s.metrics["secagg_survivors"] = float64(len(res.Survivors))
	s.metrics["secagg_dropped"] = float64(len(res.Dropped))
	s.metrics["secagg_threshold"] = float64(s.spec.Context.Params.Threshold)
	s.log.Info("secure round summed", "survivors", len(res.Survivors), "dropped", res.Dropped, "weight_sum", res.WeightSum)
	return nil
}

// Result returns the next global model (shared tensors).
func (s *secureRound) Result() (model.Weights, error) {
	if s.result.Len() == 0 {
		return model.Weights{}, fmt.Errorf("secure round has no result: %w", secagg.ErrTooFewSurvivors)
	}
	return s.result, nil
}

func (s *secureRound) outcome() driverOutcome {
	return driverOutcome{accepted: s.survivors, samples: s.samples, metrics: s.metrics}
}
