package siteagent

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/crypto/dp"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/protocol/fed"
)

// maskAheadMax is the largest input (elements) whose mask a site expands
// while it trains.
const maskAheadMax = bigModel

// errBadUpdate reports a local delta this site will not contribute.
var errBadUpdate = errors.New("unusable local update")

// input runs the masked-input phase: train (env.TrainDelta), prepare the
// delta, mask it, charge the privacy ledger, and send the masked input in
// parts.
func (r *SecureRunner) input(ctx context.Context, t Task, env PhaseEnv) error {
	cur := r.current(t)
	if cur == nil {
		return r.refuse(ctx, t, env.Exchange, RefuseNoRound, "no secure round in progress for this task (site restarted?)")
	}
	if env.TrainDelta == nil {
		return fmt.Errorf("site %s task %s: a masked-input phase without training: %w", r.cfg.Site, t.ID, ErrNoTrainer)
	}
	names := t.Train.SecureMetrics
	if cur.spec.Privacy.Enabled && len(names) > 0 {
		return r.refuse(ctx, t, env.Exchange, RefusePolicy, "the round asks for metrics, which would leave outside the differential-privacy accounting")
	}
	// The relay and the mask do not depend on the delta: open the relay
	// now (a bad one is refused before any training) and expand the whole
	// mask while the site trains, so that masking is one addition after.
	expand, err := r.openRelay(cur, t.Relay)
	if err != nil {
		return r.refuse(ctx, t, env.Exchange, RefuseProtocol, err.Error())
	}
	// A study-size mask is expanded after training instead: beside the
	// global and local models it would be a third model in memory.
	var mask []uint32
	ahead := cur.spec.Context.Params.Length <= maskAheadMax
	maskc := make(chan []uint32, 1)
	if ahead {
		go func() { maskc <- expand() }()
	}
	delta, err := env.TrainDelta(ctx)
	if ahead {
		mask = <-maskc
	}
	var in secagg.Input
	if err == nil {
		in, err = r.prepare(cur.spec, delta.Values, delta.Samples, fed.SecureMetricElems*len(names))
	}
	if err == nil {
		in = r.appendMetrics(cur.spec, in, delta.Metrics, t.Train)
	}
	if errors.Is(err, errBadUpdate) {
		return r.refuse(ctx, t, env.Exchange, RefuseBadUpdate, err.Error())
	}
	if err != nil {
		return err
	}
	if !ahead {
		collectBefore(cur.spec.Context.Params.Length + 1) // the local model is garbage now
		mask = expand()
	}
	mi, err := r.mask(cur, mask, in)
	if err != nil {
		return r.refuse(ctx, t, env.Exchange, RefuseProtocol, err.Error())
	}
	if reason, err := r.commit(cur); err != nil {
		return r.refuse(ctx, t, env.Exchange, reason, err.Error())
	}
	return r.send(ctx, mi, env.Exchange)
}

// prepare turns the delta into the secure-aggregation input: finite
// values only, L2 norm clipped to the job's bound (and to the DP clip
// norm), the weight capped, pre-scaled, and the site's share of the DP
// noise added.
func (r *SecureRunner) prepare(spec *secagg.RoundSpec, delta []float32, samples int64, metricElems int) (secagg.Input, error) {
	p := spec.Context.Params
	if want := p.Length - metricElems; len(delta) != want {
		return secagg.Input{}, fmt.Errorf("%w: %d elements, the round wants %d besides its metrics", errBadUpdate, len(delta), want)
	}
	bound := spec.NormBound
	if spec.Privacy.Enabled && (bound == 0 || spec.Privacy.ClipNorm < bound) {
		bound = spec.Privacy.ClipNorm
	}
	if bound == 0 {
		bound = math.Inf(1)
	}
	norm, err := dp.ClipL2(delta, bound)
	if err != nil {
		return secagg.Input{}, fmt.Errorf("%w: %w", errBadUpdate, err)
	}
	if norm > bound {
		r.log.Info("update clipped", "norm", norm, "bound", bound)
	}
	weight := min(float64(samples), p.MaxWeight)
	if spec.MaxWeight > 0 {
		weight = min(weight, spec.MaxWeight)
	}
	if !(weight > 0) {
		return secagg.Input{}, fmt.Errorf("%w: %d samples", errBadUpdate, samples)
	}
	in, err := secagg.PreScaleInPlace(delta, weight, p)
	if err != nil {
		return secagg.Input{}, fmt.Errorf("%w: %w", errBadUpdate, err)
	}
	if spec.Privacy.Enabled {
		sigma := dp.Config{ClipNorm: spec.Privacy.ClipNorm, NoiseMultiplier: spec.Privacy.NoiseMultiplier}.SiteSigma(p.Threshold)
		r.mu.Lock()
		err = r.cfg.Noise.AddNoise(in.Values, sigma)
		r.mu.Unlock()
	}
	return in, err
}

// appendMetrics puts the site's metrics the round names after its delta
// (fed.EncodeSecureMetrics: each times the pre-scaled weight, and the
// weight), so that the coordinator learns only their weighted means over
// the survivors. DP noise, added before, never touches them; rounds with
// DP carry none.
func (r *SecureRunner) appendMetrics(spec *secagg.RoundSpec, in secagg.Input, metrics map[string]float64, train *LocalTraining) secagg.Input {
	names := train.SecureMetrics
	if len(names) == 0 {
		return in
	}
	tail, clipped := fed.EncodeSecureMetrics(metrics, names, train.SecureMetricBound, in.Weight, spec.Context.Params.Clip)
	if clipped > 0 {
		r.log.Info("metrics clipped to the secure bound", "clipped", clipped, "bound", train.SecureMetricBound)
	}
	in.Values = append(in.Values, tail...)
	return in
}

// openRelay hands the Client the share-keys relay (it agrees the pair keys)
// and returns the function that expands the site's whole mask.
func (r *SecureRunner) openRelay(cur *siteRound, relay *secagg.ShareKeysRelay) (func() []uint32, error) {
	m, err := cur.c.Handle(relay)
	if err != nil {
		return nil, err
	}
	if m != nil {
		return nil, fmt.Errorf("secagg answered the share-keys relay with %s before the input", m.Type())
	}
	return cur.c.MaskExpander()
}

// mask gives the Client its precomputed mask and its input, and returns
// the masked input, which has not left the site yet.
func (r *SecureRunner) mask(cur *siteRound, mask []uint32, in secagg.Input) (*secagg.MaskedInput, error) {
	if err := cur.c.SetMask(mask); err != nil {
		return nil, err
	}
	mi, err := cur.c.SetInput(in)
	if err == nil && mi == nil {
		err = errors.New("secagg gave no masked input after the relay")
	}
	return mi, err
}

// commit charges the round to the privacy ledger and records its context,
// both durably, before the masked input leaves; it returns a refusal
// reason with any error.
func (r *SecureRunner) commit(cur *siteRound) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	spec := cur.spec
	if spec.Privacy.Enabled {
		rho, err := r.roundRho(spec)
		if err == nil {
			err = r.acct.Charge(chargeName(spec), spec.Context.Round, rho)
		}
		if err != nil {
			return RefuseBudget, err
		}
	}
	if err := r.done.add(spec.Context.Hash()); err != nil {
		return RefuseTaskFailed, err
	}
	return "", nil
}

// chargeName is the ledger's name of a secure round: its session (job,
// attempt and a fresh salt), so that every noisy sum released is charged,
// also a retried attempt or the same round rerun after a coordinator
// restart.
func chargeName(spec *secagg.RoundSpec) string { return spec.Context.Session }
