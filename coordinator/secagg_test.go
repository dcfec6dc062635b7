package coordinator

import (
	"crypto/ed25519"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/crypto/secagg/secaggtest"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// secSite plays one site of a secure round against the Engine by hand.
type secSite struct {
	id      string
	key     ed25519.PrivateKey
	c       *secagg.Client
	delta   []float32
	samples float64
	params  secagg.Params
	metrics map[string]float64
}

// secWorld is a harness whose engine runs SecureAggregation, with sites
// holding pinned identity keys.
type secWorld struct {
	*harness
	sites  map[string]*secSite
	ids    []string
	verify secagg.IdentityVerifier
}

func newSecWorld(t *testing.T, n int) *secWorld {
	t.Helper()
	ss, verify := secaggtest.NewSites(n, 7)
	w := &secWorld{sites: map[string]*secSite{}, verify: verify}
	w.harness = newHarness(t, EngineConfig{Aggregator: SecureAggregation(SecureConfig{Verify: verify, Default: true, Workers: 1})})
	for i, s := range ss {
		w.ids = append(w.ids, s.ID)
		d := []float32{0.1 * float32(i+1), -0.05 * float32(i), 0.02}
		m := map[string]float64{"train_loss": 0.5 + 0.25*float64(i)}
		if i > 0 {
			m["eval_accuracy"] = 0.6 + 0.1*float64(i)
		}
		w.sites[s.ID] = &secSite{id: s.ID, key: s.Key, delta: d, samples: float64(100 * (i + 1)), metrics: m}
	}
	return w
}

func (w *secWorld) spec() JobSpec {
	s := testSpec()
	s.Sites, s.Rounds, s.MaxAttempts = w.ids, 1, 1
	s.SecAgg.MaxWeight = 1000
	return s
}

// send exchanges one payload of site in its current task's phase.
func (w *secWorld) send(site, url string, b []byte) error {
	t := w.tasks[site]
	_, err := w.e.Exchange(site, &fedpb.PhaseMessage{SessionId: "s", JobId: t.Job, Round: int64(t.Round), Attempt: int32(t.Attempt),
		Nonce: t.Nonce, Phase: t.Phase, Payload: &anypb.Any{TypeUrl: url, Value: b}}, w.now)
	w.drain()
	return err
}

// step lets every listed site answer its current phase task.
func (w *secWorld) step(t *testing.T, phase string, sites ...string) {
	t.Helper()
	for _, id := range sites {
		tk := w.tasks[id]
		if tk.Phase != phase || tk.Kind != protocol.KindPhase {
			t.Fatalf("site %s has task %s/%s, want phase %s", id, tk.Kind, tk.Phase, phase)
		}
		if err := w.answer(t, w.sites[id], tk.Extension); err != nil {
			t.Fatalf("site %s phase %s: %v", id, phase, err)
		}
	}
}

func (w *secWorld) answer(t *testing.T, s *secSite, a *anypb.Any) error {
	kind, _ := secagg.KindOf(a.GetTypeUrl())
	var reply secagg.Message
	var err error
	switch kind {
	case secagg.KindRoundSpec:
		var spec *secagg.RoundSpec
		if spec, err = secagg.DecodeRoundSpec(a.GetValue()); err != nil {
			return err
		}
		s.params = spec.Context.Params
		if s.c, err = secagg.NewClient(secagg.ClientConfig{Context: spec.Context, Self: s.id, Identity: s.key, VerifyIdentity: w.verify}); err != nil {
			return err
		}
		reply, err = s.c.Advertise()
	case secagg.KindInputRequest:
		return w.maskedInput(s, a)
	default:
		var m secagg.Message
		if m, err = secagg.DecodeTyped(a.GetTypeUrl(), a.GetValue()); err != nil {
			return err
		}
		reply, err = s.c.Handle(m)
	}
	if err != nil || reply == nil {
		return err
	}
	b, _ := reply.MarshalBinary()
	return w.send(s.id, secagg.TypeURL(reply.Type().String()), b)
}

// maskedInput encodes the site's update and sends its masked input in
// parts of 16 bytes.
func (w *secWorld) maskedInput(s *secSite, a *anypb.Any) error {
	q, err := secagg.DecodeInputRequest(a.GetValue())
	if err != nil {
		return err
	}
	var train fedpb.TrainSpec
	if err := proto.Unmarshal(q.Train, &train); err != nil {
		return err
	}
	in, err := secagg.PreScale(s.delta, s.samples, s.params)
	if err != nil {
		return err
	}
	tail, _ := protocol.EncodeSecureMetrics(s.metrics, train.GetSecureMetrics(), train.GetSecureMetricBound(), in.Weight, s.params.Clip)
	in.Values = append(in.Values, tail...)
	if _, err := s.c.SetInput(in); err != nil {
		return err
	}
	mi, err := s.c.Handle(q.Relay)
	if err != nil {
		return err
	}
	b, _ := mi.MarshalBinary()
	for _, p := range secagg.SplitPayload(mi.Type().String(), b, 16) {
		pb, _ := p.MarshalBinary()
		if err := w.send(s.id, secagg.TypeURL(secagg.KindPart), pb); err != nil {
			return err
		}
	}
	return nil
}

// fedavg is the plain weighted mean of init + delta over sites.
func (w *secWorld) fedavg(init []float32, sites ...string) []float64 {
	out := make([]float64, len(init))
	var total float64
	for _, id := range sites {
		s := w.sites[id]
		for i := range out {
			out[i] += s.samples * float64(init[i]+s.delta[i])
		}
		total += s.samples
	}
	for i := range out {
		out[i] /= total
	}
	return out
}

func secInit() model.Weights { return model.MustWeights(vec("w", 0.5, -1, 2)) }

// runSecure plays a secure round in which the sites listed in drop fail
// (gossip) after sharing keys, before sending their masked input.
func (w *secWorld) runSecure(t *testing.T, drop ...string) {
	t.Helper()
	w.join(w.ids...)
	w.startJob(w.spec(), secInit())
	w.step(t, PhaseSecAdvertise, w.ids...)
	w.step(t, PhaseSecShareKeys, w.ids...)
	var live []string
	for _, id := range w.ids {
		if !contains(drop, id) {
			live = append(live, id)
		}
	}
	for _, id := range drop {
		w.e.SiteDown(id, "gossip: node failed", w.now)
		w.drain()
	}
	if w.e.Jobs()[0].State != JobRunning || len(w.commits) > 1 {
		return
	}
	w.step(t, PhaseSecInput, live...)
	if w.e.Jobs()[0].State != JobRunning {
		return
	}
	w.step(t, PhaseSecConsistency, live...)
	w.step(t, PhaseSecUnmask, live...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSecureRoundMatchesFedAvg(t *testing.T) {
	cases := []struct {
		name string
		drop []string
	}{
		{"all survive", nil},
		{"one dropout, t=2 left", []string{"site-001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newSecWorld(t, 3)
			w.runSecure(t, tc.drop...)
			if len(w.commits) != 2 {
				t.Fatalf("round 1 not committed; audit %+v", w.audit)
			}
			c := w.commitLast()
			var live []string
			for _, id := range w.ids {
				if !contains(tc.drop, id) {
					live = append(live, id)
				}
			}
			want := w.fedavg(secInit().Flatten(), live...)
			got := c.Global.Flatten()
			// Fixed point: each of n elements and weights is within half a
			// step; the mean's error is about n*step/sum(weights), plus
			// float32 rounding.
			p := w.sites[live[0]].params
			bound := 3*p.Step(3)/(100.0/1000) + 4*math.Pow(2, -23)*2
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); d > bound {
					t.Errorf("element %d: secure %v, fedavg %v (|d| %g > %g)", i, got[i], want[i], d, bound)
				}
			}
			if !equalStrings(c.Summary.Accepted, live) || c.Summary.Metrics["secagg_survivors"] != float64(len(live)) {
				t.Errorf("summary accepted %v metrics %v, want %v", c.Summary.Accepted, c.Summary.Metrics, live)
			}
			// The round's metrics are the survivors' sample-weighted means,
			// each over the sites that reported it.
			for _, name := range []string{"train_loss", "eval_accuracy"} {
				var num, den float64
				for _, id := range live {
					if v, ok := w.sites[id].metrics[name]; ok {
						num, den = num+w.sites[id].samples*v, den+w.sites[id].samples
					}
				}
				if got, ok := c.Summary.Metrics[name]; !ok || math.Abs(got-num/den) > 1e-4 {
					t.Errorf("%s: secure round says %v (present %v), weighted mean %v", name, got, ok, num/den)
				}
			}
			if _, ok := c.Summary.Metrics["eval_loss"]; ok || len(c.Summary.SiteMetrics) != 0 {
				t.Errorf("metrics no site reported, or per-site metrics: %v %v", c.Summary.Metrics, c.Summary.SiteMetrics)
			}
			if n := w.countAudit(EventDropout); n != len(tc.drop) {
				t.Errorf("%d dropouts audited, want %d: %+v", n, len(tc.drop), w.audit)
			}
		})
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func (w *secWorld) countAudit(event string) int {
	n := 0
	for _, a := range w.audit {
		if a.Event == event {
			n++
		}
	}
	return n
}

func TestSecureRoundBelowThresholdFailsCleanly(t *testing.T) {
	w := newSecWorld(t, 3)
	w.runSecure(t, "site-000", "site-002")
	if len(w.commits) != 1 {
		t.Fatalf("a round below t committed: %+v", w.commits[len(w.commits)-1].Summary)
	}
	st := w.e.Jobs()[0]
	if st.State != JobFailed || !strings.Contains(st.Err, "too few survivors") {
		t.Fatalf("job %+v, want failed for too few survivors", st)
	}
	found := false
	for _, a := range w.audit {
		found = found || a.Event == EventAttempt && strings.Contains(a.Detail, "too few survivors")
	}
	if !found {
		t.Fatalf("no attempt_failed audit entry naming the cause: %+v", w.audit)
	}
}

func TestSecureRoundRefusalIsADropout(t *testing.T) {
	w := newSecWorld(t, 3)
	w.join(w.ids...)
	w.startJob(w.spec(), secInit())
	f, _ := (&secagg.Refusal{Reason: "privacy_budget", Detail: "epsilon 9.9 of 1"}).MarshalBinary()
	if err := w.send("site-002", secagg.TypeURL(secagg.KindRefusal), f); err != nil {
		t.Fatal(err)
	}
	w.step(t, PhaseSecAdvertise, "site-000", "site-001")
	if w.tasks["site-000"].Phase != PhaseSecShareKeys {
		t.Fatalf("advertise phase still waits for the refusing site")
	}
	var got *AuditEntry
	for i, a := range w.audit {
		if a.Event == EventDropout && a.Site == "site-002" {
			got = &w.audit[i]
		}
	}
	if got == nil || got.Reason != ReasonTaskRefused || !strings.Contains(got.Detail, "privacy_budget") {
		t.Fatalf("refusal audit %+v", got)
	}
}

func TestSecureRoundRefusesForgedMessage(t *testing.T) {
	w := newSecWorld(t, 3)
	w.join(w.ids...)
	w.startJob(w.spec(), secInit())
	w.step(t, PhaseSecAdvertise, "site-000", "site-001")
	// site-002 sends site-000's key bundle as its own: refused and dropped.
	s0 := w.sites["site-000"]
	spec, _ := secagg.DecodeRoundSpec(w.tasks["site-002"].Extension.GetValue())
	c, _ := secagg.NewClient(secagg.ClientConfig{Context: spec.Context, Self: "site-000", Identity: s0.key, VerifyIdentity: w.verify})
	m, _ := c.Advertise()
	b, _ := m.MarshalBinary()
	err := w.send("site-002", secagg.TypeURL(m.Type().String()), b)
	if !errors.Is(err, secagg.ErrIDMismatch) || !errors.Is(err, protocol.ErrInvalidUpdate) {
		t.Fatalf("swapped identity: %v", err)
	}
	var got *AuditEntry
	for i, a := range w.audit {
		if a.Event == EventDropout && a.Site == "site-002" {
			got = &w.audit[i]
		}
	}
	if got == nil || got.Reason != "secagg_site_ID_mismatch" {
		t.Fatalf("refusal audit %+v", got)
	}
	if w.tasks["site-000"].Phase != PhaseSecShareKeys {
		t.Fatal("phase did not close after the forger was dropped")
	}
}

func TestSecureJobWithoutSecureCoordinatorFails(t *testing.T) {
	h := newHarness(t, EngineConfig{})
	h.join("a", "b", "c")
	spec := testSpec()
	on := true
	spec.SecureAggregation = &on
	h.startJob(spec, initW())
	st := h.e.Jobs()[0]
	if st.State != JobFailed || !strings.Contains(st.Err, ErrNoSecureAggregation.Error()) {
		t.Fatalf("job %+v", st)
	}
}

func TestSecureSpecValidation(t *testing.T) {
	off := false
	cases := []struct {
		name string
		edit func(*JobSpec)
		want string
	}{
		{"privacy without secagg", func(s *JobSpec) { s.SecureAggregation = &off; s.Privacy.Enabled = true }, "needs secure_aggregation"},
		{"bad noise", func(s *JobSpec) { s.Privacy = PrivacySpec{Enabled: true, ClipNorm: 1} }, "noise_multiplier"},
		{"bad threshold", func(s *JobSpec) { s.SecAgg.ThresholdFraction = 0.4 }, "threshold_fraction"},
		{"quorum 1", func(s *JobSpec) { s.Privacy.Enabled = true; s.Quorum = 1; s.CohortSize = 0 }, "at least 2 sites"},
	}
	for _, tc := range cases {
		s := testSpec()
		tc.edit(&s)
		if err := s.Validate("job"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := testSpec().Validate("job"); err != nil {
		t.Fatal(err)
	}
	_ = time.Second
}

// TestSecureRoundServerStrategies: FedAdam applies its server step to the
// securely averaged model, and FedBN's local tensors stay out of the
// masked vector and unchanged in the global model.
func TestSecureRoundServerStrategies(t *testing.T) {
	cases := []struct {
		name     string
		strategy StrategySpec
		init     model.Weights
	}{
		{"fedadam", func() StrategySpec { s := DefaultStrategySpec(); s.Name = StrategyFedAdam; return s }(), secInit()},
		{"fedbn", StrategySpec{Name: StrategyFedBN, LocalOnly: []string{`^bn\.`}}, model.MustWeights(vec("bn.scale", 1, 1), vec("w", 0.5, -1, 2))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newSecWorld(t, 3)
			w.join(w.ids...)
			spec := w.spec()
			spec.Strategy = tc.strategy
			w.startJob(spec, tc.init)
			for _, ph := range []string{PhaseSecAdvertise, PhaseSecShareKeys, PhaseSecInput, PhaseSecConsistency, PhaseSecUnmask} {
				w.step(t, ph, w.ids...)
			}
			if len(w.commits) != 2 {
				t.Fatalf("round 1 not committed: %+v", w.audit)
			}
			got := w.commitLast().Global
			shared := model.MustWeights(vec("w", 0.5, -1, 2))
			mean := w.fedavg(shared.Flatten(), w.ids...)
			m32 := make([]float32, len(mean))
			for i, v := range mean {
				m32[i] = float32(v)
			}
			want := model.MustWeights(vec("w", m32...))
			if tc.strategy.Name == StrategyFedAdam {
				if want, _ = NewFedOpt(FedOptAdam, tc.strategy).Apply(shared, want); want.Len() == 0 {
					t.Fatal("reference step failed")
				}
			}
			gw, _ := got.Get("w")
			ww, _ := want.Get("w")
			for i := range ww.Data {
				if d := math.Abs(float64(gw.Data[i] - ww.Data[i])); d > 1e-5 {
					t.Errorf("w[%d]: secure %v, reference %v", i, gw.Data[i], ww.Data[i])
				}
			}
			if bn, ok := got.Get("bn.scale"); ok && (bn.Data[0] != 1 || bn.Data[1] != 1) {
				t.Errorf("bn.scale changed: %v", bn.Data)
			} else if !ok && tc.strategy.Name == StrategyFedBN {
				t.Error("bn.scale lost")
			}
		})
	}
}
