package engine

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fed"
)

// secureRound is one secure round attempt: it wraps a secagg.Server,
// opens each phase with the messages the previous one produced, takes the
// sites' messages (joining masked inputs sent in parts), and decodes the
// summed deltas into the mean model.
type secureRound struct {
	where     string // "job J round R attempt A"
	quorum    int
	global    model.Weights // the shared tensors of the global model the deltas apply to
	spec      *secagg.RoundSpec
	srv       *secagg.Server
	phase     string
	box       secagg.Outbox
	parts     PartJoiner // nil outside the masked-input phase
	down      map[string]bool
	events    []secureEvent
	opened    time.Time
	metrics   map[string]float64
	unmasking *secagg.Unmasking // between closing the unmask phase and Unmasked
	mean      model.Weights     // the mean model: global + the survivors' mean delta
	survivors []string
	samples   int64
	modelLen  int      // elements of the shared model in the masked vector
	names     []string // the round's metrics, after the model (fed.EncodeSecureMetrics)
}

// secureEvent is something a secure round reports for the audit log: a
// dropout, a refused message, or its sum.
type secureEvent struct {
	event  string
	site   string
	reason Reason
	detail string
}

// newSecureRound derives the round's parameters (t is at least the job's
// quorum) and session, and starts the aggregator state machine.
func newSecureRound(verify secagg.IdentityVerifier, joiner func(limit int) PartJoiner, job JobSpec, num, attempt int, cohort []string, global model.Weights, salt [8]byte) (*secureRound, error) {
	modelLen := 0
	for _, s := range global.Specs() {
		n, _ := model.NumElements(s.Shape)
		modelLen += n
	}
	names := job.roundMetrics()
	length := modelLen + fed.SecureMetricElems*len(names)
	n := len(cohort)
	where := fmt.Sprintf("job %s round %d attempt %d", job.ID, num, attempt)
	params, err := job.secAggConfig().Params(n, length)
	if err != nil {
		return nil, fmt.Errorf("%s: secure aggregation over %d sites: %w", where, n, err)
	}
	params.Threshold = max(params.Threshold, min(job.Quorum, n))
	roster := slices.Clone(cohort)
	slices.Sort(roster)
	ctx := secagg.Context{Session: fmt.Sprintf("%s/a%d/%x", job.ID, attempt, salt), Round: uint64(num), Roster: roster, Params: params}
	srv, err := secagg.NewServer(secagg.ServerConfig{Context: ctx, VerifyIdentity: verify, RingOnly: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pr := job.Privacy
	spec := &secagg.RoundSpec{Version: 1, Context: ctx, Job: job.ID, Attempt: attempt,
		RoundsLeft: max(job.Rounds-num+1, 1), NormBound: job.Validation.MaxUpdateNorm,
		MaxWeight: float64(job.Validation.MaxSamples),
		Privacy:   secagg.PrivacySpec{Enabled: pr.Enabled, ClipNorm: pr.ClipNorm, NoiseMultiplier: pr.NoiseMultiplier}}
	return &secureRound{where: where, quorum: job.Quorum, global: global, spec: spec, srv: srv, down: map[string]bool{},
		metrics: map[string]float64{}, parts: joiner(4*(length+1) + 64<<10), modelLen: modelLen, names: names}, nil
}

// describe says what the round is, for the audit log.
func (s *secureRound) describe() string {
	p := s.spec.Context.Params
	return fmt.Sprintf("session %s, %d sites, threshold %d, length %d, privacy %v, sparse_k %d",
		s.spec.Context.Session, len(s.spec.Context.Roster), p.Threshold, p.Length, s.spec.Privacy.Enabled, p.Neighbours)
}

// open returns each site's opening payload of phase: the round spec, or
// the aggregator's message from the previous phase (encoded once when
// sites share it). In the masked-input phase that message is the site's
// share-keys relay; the engine adds its training to the task.
func (s *secureRound) open(phase string, now time.Time) (map[string]Payload, error) {
	s.phase, s.opened = phase, now
	out := map[string]Payload{}
	if phase == PhaseSecAdvertise {
		b, err := s.spec.MarshalBinary()
		if err != nil {
			return nil, err
		}
		for _, site := range s.spec.Context.Roster {
			if !s.down[site] {
				out[site] = Payload{Type: secagg.TypeURL(secagg.KindRoundSpec), Value: b}
			}
		}
		return out, nil
	}
	if phase == PhaseSecInput {
		for _, m := range s.box {
			if _, ok := m.(*secagg.ShareKeysRelay); !ok {
				return nil, fmt.Errorf("secure round: %s opens with %s, want a relay", phase, m.Type())
			}
		}
	}
	encoded := map[secagg.Message]Payload{}
	for site, m := range s.box {
		if s.down[site] {
			continue
		}
		p, ok := encoded[m]
		if !ok {
			b, err := m.MarshalBinary()
			if err != nil {
				return nil, err
			}
			p = Payload{Type: secagg.TypeURL(m.Type().String()), Value: b}
			encoded[m] = p
		}
		out[site] = p
	}
	s.box = nil
	return out, nil
}

// handle takes one message of site: a protocol message, a part of one, or
// the site's refusal to take part.
func (s *secureRound) handle(site string, p Payload) error {
	kind, err := secagg.KindOf(p.Type)
	if err != nil {
		return s.refuse(site, err)
	}
	var msg secagg.Message
	switch kind {
	case secagg.KindRefusal:
		f, err := secagg.DecodeRefusal(p.Value)
		if err != nil {
			return s.refuse(site, err)
		}
		s.drop(site, ReasonTaskRefused, f.Reason+": "+f.Detail)
		return nil
	case secagg.KindPart:
		var whole Joined
		if kind, whole, err = s.joinPart(site, p.Value); err != nil || whole == nil {
			return s.refuse(site, err)
		}
		if c, ok := whole.(io.Closer); ok {
			defer c.Close()
		}
		if kind == secagg.TypeMaskedInput.String() {
			return s.refuse(site, s.maskedInput(site, whole))
		}
		b := make([]byte, whole.Size())
		if _, err = whole.ReadAt(b, 0); err == nil || err == io.EOF {
			msg, err = secagg.DecodeTyped(secagg.TypeURL(kind), b)
		}
	default:
		msg, err = secagg.DecodeTyped(p.Type, p.Value)
	}
	if err == nil {
		err = s.srv.Handle(site, msg)
	}
	return s.refuse(site, err)
}

// joinPart adds a part of a masked input; it returns the whole payload
// once the last part is in.
func (s *secureRound) joinPart(site string, b []byte) (string, Joined, error) {
	if s.phase != PhaseSecInput || s.parts == nil {
		return "", nil, fmt.Errorf("%w: a part outside the masked-input phase", secagg.ErrPhase)
	}
	part, err := secagg.DecodePart(b)
	if err != nil {
		return "", nil, err
	}
	return s.parts.Add(site, part)
}

// refuse records a refused message (nil err: nothing to refuse). The site
// is dropped from the round unless the message was a mere duplicate.
func (s *secureRound) refuse(site string, err error) error {
	if err == nil {
		return nil
	}
	reason := secaggReason(err)
	if errors.Is(err, secagg.ErrReplay) {
		s.events = append(s.events, secureEvent{event: EventRejected, site: site, reason: reason, detail: err.Error()})
	} else {
		s.drop(site, reason, err.Error())
	}
	return fmt.Errorf("site %s phase %s: %w: %w", site, s.phase, fed.ErrInvalidUpdate, err)
}

// drop takes site out of the round and queues its dropout for the audit log.
func (s *secureRound) drop(site string, reason Reason, detail string) {
	if s.down[site] || !slices.Contains(s.spec.Context.Roster, site) {
		return
	}
	s.down[site] = true
	if s.parts != nil {
		s.parts.Drop(site)
	}
	s.events = append(s.events, secureEvent{event: EventDropout, site: site, reason: reason, detail: detail})
}

// pending lists the sites the current phase still waits for: those the
// aggregator expects that have not failed or been dropped.
func (s *secureRound) pending() []string {
	var out []string
	for _, site := range s.srv.Pending() {
		if !s.down[site] {
			out = append(out, site)
		}
	}
	return out
}

// siteDown drops a failed site (gossip, heartbeat timeout, a failed task);
// once the unmasking has started the round no longer needs it.
func (s *secureRound) siteDown(site string, reason Reason) {
	if s.unmasking == nil {
		s.drop(site, reason, "failed during "+s.phase)
	}
}

// takeEvents returns and clears the round's audit events.
func (s *secureRound) takeEvents() []secureEvent {
	out := s.events
	s.events = nil
	return out
}

// close ends the current phase: silent sites are dropped and the
// aggregator advances (it aborts below t survivors: the attempt then fails
// with no output). Closing the unmask phase returns the unmasking to run.
func (s *secureRound) close(now time.Time) (*secagg.Unmasking, error) {
	for _, site := range s.pending() {
		s.drop(site, ReasonDeadlineMissed, "no "+s.phase+" message before the phase deadline")
	}
	s.metrics["secagg_"+strings.TrimPrefix(s.phase, "secagg-")+"_s"] = now.Sub(s.opened).Seconds()
	if s.phase == PhaseSecInput && s.parts != nil {
		s.parts.Close()
		s.parts = nil
	}
	if s.phase == PhaseSecUnmask {
		u, err := s.srv.BeginUnmask()
		if err != nil {
			return nil, fmt.Errorf("secure aggregation: %w", err)
		}
		s.unmasking = u
		return u, nil
	}
	box, err := s.srv.Advance()
	if err != nil {
		return nil, fmt.Errorf("secure aggregation: %w", err)
	}
	s.box = box
	return nil, nil
}

// finishUnmask takes the unmasking the driver ran and decodes the summed
// deltas into the mean model: the global model plus the weighted mean of
// the survivors' deltas.
func (s *secureRound) finishUnmask(u *secagg.Unmasking) error {
	s.unmasking = nil
	if err := s.srv.FinishUnmask(u); err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	res, err := s.srv.Result()
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	if len(res.Survivors) < s.quorum {
		return fmt.Errorf("secure aggregation: %d sites in the sum, quorum %d: %w", len(res.Survivors), s.quorum, secagg.ErrTooFewSurvivors)
	}
	if !(res.WeightSum > 0) {
		return fmt.Errorf("secure aggregation: sum of weights %v: %w", res.WeightSum, secagg.ErrTooFewSurvivors)
	}
	p, n := s.spec.Context.Params, len(s.spec.Context.Roster)
	if s.global.NumParams() != s.modelLen || len(res.Ring) != s.modelLen+fed.SecureMetricElems*len(s.names)+1 {
		return fmt.Errorf("secure aggregation: sum of %d elements for a model of %d and %d metrics: %w", len(res.Ring), s.modelLen, len(s.names), model.ErrShape)
	}
	tail := make([]float64, fed.SecureMetricElems*len(s.names))
	for i := range tail {
		tail[i] = secagg.DecodeElement(res.Ring, s.modelLen+i, p, n)
	}
	means, err := fed.DecodeSecureMetrics(tail, s.names, SecureMetricBound)
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	w, err := meanInRing(s.global, res.Ring, p, n, res.WeightSum)
	if err == nil {
		err = w.CheckFinite()
	}
	if err != nil {
		return fmt.Errorf("secure aggregation: %w", err)
	}
	s.mean, s.survivors = w, res.Survivors
	s.samples = int64(math.Round(res.WeightSum * s.spec.Context.Params.MaxWeight))
	maps.Copy(s.metrics, means) // weighted means over the survivors only
	s.metrics["secagg_survivors"] = float64(len(res.Survivors))
	s.metrics["secagg_dropped"] = float64(len(res.Dropped))
	s.metrics["secagg_threshold"] = float64(s.spec.Context.Params.Threshold)
	s.events = append(s.events, secureEvent{event: EventSecureSum,
		detail: fmt.Sprintf("survivors %v, dropped %v, weight sum %v", res.Survivors, res.Dropped, res.WeightSum)})
	return nil
}

// meanModel returns the mean model of the round's survivors (shared
// tensors).
func (s *secureRound) meanModel() (model.Weights, error) {
	if s.mean.Len() == 0 {
		return model.Weights{}, fmt.Errorf("secure round has no result: %w", secagg.ErrTooFewSurvivors)
	}
	return s.mean, nil
}
