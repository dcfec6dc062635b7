package siteagent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/synthfed/synthfed/crypto/dp"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// errBadUpdate reports a local update this site will not contribute.
var errBadUpdate = errors.New("unusable local update")

// input runs the masked-input phase: train, prepare the update, mask it,
// charge the privacy ledger, and send the masked input in parts.
func (r *SecureRunner) input(ctx context.Context, t *fedpb.Task, exchange exchangeFunc) error {
	cur := r.current(t)
	if cur == nil {
		return r.refuse(ctx, t, exchange, RefuseNoRound, "no secure round in progress for this task (site restarted?)")
	}
	q, err := secagg.DecodeInputRequest(t.GetExtension().GetValue())
	if err != nil {
		return fmt.Errorf("task %s: %w: %w", t.GetTaskId(), protocol.ErrMalformed, err)
	}
	tt, err := phaseTrainTask(t, q.Train)
	if err != nil {
		return err
	}
	r.mu.Lock()
	x := r.x
	r.mu.Unlock()
	if x == nil {
		return fmt.Errorf("site %s: secure runner is not bound to an agent: %w", r.cfg.Site, ErrNoTrainer)
	}
	if dl := t.GetDeadlineUnixMs(); dl > 0 {
		var cancel context.CancelFunc
		ctx, cancel = x.withDeadline(ctx, time.UnixMilli(dl))
		defer cancel()
	}
	names := tt.GetTrain().GetSecureMetrics()
	if cur.spec.Privacy.Enabled && len(names) > 0 {
		return r.refuse(ctx, t, exchange, RefusePolicy, "the round asks for metrics, which would leave outside the differential-privacy accounting")
	}
	// The relay and the mask do not depend on the update: open the relay
	// now (a bad one is refused before any training) and expand the whole
	// mask while the site trains, so that masking is one addition after.
	expand, err := r.openRelay(cur, q.Relay)
	if err != nil {
		return r.refuse(ctx, t, exchange, RefuseProtocol, err.Error())
	}
	maskc := make(chan []uint32, 1)
	go func() { maskc <- expand() }()
	delta, samples, metrics, err := trainDelta(ctx, x, tt)
	mask := <-maskc
	var in secagg.Input
	if err == nil {
		in, err = r.prepare(cur.spec, delta, samples, protocol.SecureMetricElems*len(names))
	}
	if err == nil {
		in = r.appendMetrics(cur.spec, in, metrics, tt.GetTrain())
	}
	if errors.Is(err, errBadUpdate) {
		return r.refuse(ctx, t, exchange, RefuseBadUpdate, err.Error())
	}
	if err != nil {
		return err
	}
	mi, err := r.mask(cur, mask, in)
	if err != nil {
		return r.refuse(ctx, t, exchange, RefuseProtocol, err.Error())
	}
	if reason, err := r.commit(cur); err != nil {
		return r.refuse(ctx, t, exchange, reason, err.Error())
	}
	return r.send(ctx, mi, exchange)
}

// phaseTrainTask rebuilds the train task the phase task stands for, from the
// training instructions of the InputRequest.
func phaseTrainTask(t *fedpb.Task, train []byte) (*fedpb.Task, error) {
	spec := &fedpb.TrainSpec{}
	if err := proto.Unmarshal(train, spec); err != nil {
		return nil, fmt.Errorf("task %s: train spec: %v: %w", t.GetTaskId(), err, protocol.ErrMalformed)
	}
	tt := &fedpb.Task{TaskId: t.GetTaskId(), JobId: t.GetJobId(), Round: t.GetRound(), Attempt: t.GetAttempt(),
		Nonce: t.GetNonce(), Kind: protocol.KindTrain, Phase: t.GetPhase(), Model: t.GetModel(), ModelHash: t.GetModelHash(),
		DeadlineUnixMs: t.GetDeadlineUnixMs(), Spec: &fedpb.Task_Train{Train: spec}}
	return tt, protocol.ValidateTask(tt)
}

// trainDelta downloads the global model, trains, and returns the shared
// tensors' update (local weights minus the global ones, flattened in name
// order; FedBN local tensors stay at the site), the sample count and the
// task's metrics (train_*, and eval_* with evaluate_global).
func trainDelta(ctx context.Context, x *executor, tt *fedpb.Task) ([]float32, int64, map[string]float64, error) {
	trainer, _, err := x.trainerFor(ctx, refOf(tt))
	if err != nil {
		return nil, 0, nil, err
	}
	meta := &fedpb.UpdateMeta{}
	w, err := x.train(ctx, trainer, tt, meta)
	if err != nil {
		return nil, 0, nil, stageErr("train", err)
	}
	global, err := x.fetch(ctx, tt)
	if err != nil {
		return nil, 0, nil, err
	}
	pats := make([]*regexp.Regexp, 0, len(tt.GetTrain().GetLocalOnly()))
	for _, p := range tt.GetTrain().GetLocalOnly() {
		pats = append(pats, regexp.MustCompile(p)) // ValidateTask compiled them
	}
	shared := global.Filter(func(n string) bool { return !matchAny(pats, n) })
	if err := shared.CheckSameSpec(w); err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %w", errBadUpdate, err)
	}
	g, d := shared.Flatten(), w.Flatten()
	for i := range d {
		d[i] -= g[i]
	}
	return d, meta.NumSamples, meta.Metrics, nil
}

// prepare turns the update into the secure-aggregation input: finite
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
	in, err := secagg.PreScale(delta, weight, p)
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

// appendMetrics puts the site's metrics the round names after its update
// (protocol.EncodeSecureMetrics: each times the pre-scaled weight, and the
// weight), so that the coordinator learns only their weighted means over
// the survivors. DP noise, added before, never touches them; rounds with
// DP carry none.
func (r *SecureRunner) appendMetrics(spec *secagg.RoundSpec, in secagg.Input, metrics map[string]float64, train *fedpb.TrainSpec) secagg.Input {
	names := train.GetSecureMetrics()
	if len(names) == 0 {
		return in
	}
	tail, clipped := protocol.EncodeSecureMetrics(metrics, names, train.GetSecureMetricBound(), in.Weight, spec.Context.Params.Clip)
	if clipped > 0 {
		r.log.Info("metrics clipped to the secure bound", "clipped", clipped, "bound", train.GetSecureMetricBound())
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
