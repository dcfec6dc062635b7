package engine

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/crypto/secagg/secaggtest"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fed"
)

// harness drives an Engine by hand with a fake time, as a driver would:
// it steps inputs, drains the effects after each, runs the unmasking of
// secure rounds in place, and plays secure sites with real secagg
// clients. It records every effect, and prints them for the datadriven
// scripts (testdata/*.txt).
type harness struct {
	t       testing.TB
	e       *Engine
	start   time.Time
	now     time.Time
	tasks   map[string]Task // last task per site
	cancels map[string]bool
	commits []CommitRound
	results []CommitResults
	audit   []AuditEntry
	ended   []JobEnded
	held    []Unmask  // unmaskings not run yet (holdUnmask)
	last    Committed // the last commit asked for, of a round or of results
	log     []string  // printed effects since the last take

	// holdUnmask keeps Unmask effects in held instead of running them.
	holdUnmask bool
	// sec plays the sites of secure rounds (nil: none).
	sec *secSites
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = rand.NewChaCha8([32]byte{1})
	}
	now := time.Unix(1_000_000, 0)
	return &harness{t: t, e: New(cfg), start: now, now: now, tasks: map[string]Task{}, cancels: map[string]bool{}}
}

// newSecureHarness is a harness whose engine runs secure aggregation by
// default, with n sites (site-000...) holding pinned identity keys.
func newSecureHarness(t testing.TB, n int, cfg Config) *harness {
	t.Helper()
	sites, verify := secaggtest.NewSites(n, 7)
	cfg.Secure = &SecureConfig{Verify: verify, Default: true}
	h := newHarness(t, cfg)
	h.sec = newSecSites(sites, verify)
	return h
}

// step gives the engine one input at the harness time and drains.
func (h *harness) step(m Msg) error {
	err := h.e.Step(h.now, m)
	h.drain()
	return err
}

// drain records the effects; commits are left for the test to
// acknowledge, unmaskings are run at once unless held.
func (h *harness) drain() {
	for {
		effs := h.e.Ready()
		if len(effs) == 0 {
			return
		}
		var run []Unmask
		for _, ef := range effs {
			h.log = append(h.log, h.format(ef))
			switch ef := ef.(type) {
			case SendTask:
				if ef.Task.Cancel {
					h.cancels[ef.Task.Site] = true
				} else {
					h.tasks[ef.Task.Site] = ef.Task
					delete(h.cancels, ef.Task.Site)
				}
			case CommitRound:
				h.commits = append(h.commits, ef)
				h.last = Committed{Job: ef.Job, Round: ef.Round}
			case CommitResults:
				h.results = append(h.results, ef)
				h.last = Committed{Job: ef.Job, Round: ef.Round}
			case Audit:
				h.audit = append(h.audit, ef.Entry)
			case JobEnded:
				h.ended = append(h.ended, ef)
			case Unmask:
				run = append(run, ef)
			}
		}
		if h.holdUnmask {
			h.held = append(h.held, run...)
			continue
		}
		for _, u := range run {
			h.unmask(u)
		}
	}
}

// unmask runs one unmasking as the driver does and feeds it back.
func (h *harness) unmask(u Unmask) {
	u.Work.Run(1)
	if err := h.e.Step(h.now, Unmasked{Job: u.Job, Round: u.Round, Attempt: u.Attempt, Work: u.Work}); err != nil {
		h.t.Fatalf("unmasked: %v", err)
	}
}

// advance moves the time on by d and ticks.
func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.e.Tick(h.now)
	h.drain()
}

func (h *harness) join(sites ...string) {
	for _, s := range sites {
		h.step(SiteUp{Site: s})
	}
}

// commitLast acknowledges the last commit as durable.
func (h *harness) commitLast() CommitRound {
	h.t.Helper()
	if len(h.commits) == 0 {
		h.t.Fatal("no commit pending")
	}
	c := h.commits[len(h.commits)-1]
	h.step(Committed{Job: c.Job, Round: c.Round})
	return c
}

func metaOf(t Task, samples int64) UploadMeta {
	return UploadMeta{TaskID: t.ID, Job: t.Job, Round: t.Round, Attempt: t.Attempt, Nonce: t.Nonce, NumSamples: samples}
}

// deliver uploads w for site's current task.
func (h *harness) deliver(site string, w model.Weights, samples int64) error {
	h.t.Helper()
	t, ok := h.tasks[site]
	if !ok {
		h.t.Fatalf("site %s has no task", site)
	}
	return h.step(UploadReceived{Site: site, Meta: metaOf(t, samples), Weights: w})
}

// startJob submits spec with an initial model and commits round 0.
func (h *harness) startJob(spec JobSpec, init model.Weights) {
	h.t.Helper()
	if err := h.step(Submit{Spec: spec, Initial: &init}); err != nil {
		h.t.Fatal(err)
	}
	h.commitLast()
}

func vec(name string, vals ...float32) model.Tensor {
	return model.Tensor{Name: name, Shape: []int{len(vals)}, Data: vals}
}

func initW() model.Weights { return model.MustWeights(vec("w", 0, 0)) }

// testSpec is a train job of two rounds over sites a, b and c.
func testSpec() JobSpec {
	s := DefaultJobSpec()
	s.ID = "job1"
	s.Rounds = 2
	s.Quorum = 2
	s.Sites = []string{"a", "b", "c"}
	s.Deadlines = Deadlines{Select: Duration(10 * time.Second), Init: Duration(5 * time.Second), Train: Duration(20 * time.Second)}
	return s
}

// secSites are the sites of secure rounds, each with a real secagg client
// and a fixed delta, weight and metrics.
type secSites struct {
	ids    []string
	verify secagg.IdentityVerifier
	sites  map[string]*secSite
}

// secSite plays one site of a secure round.
type secSite struct {
	id      string
	key     ed25519.PrivateKey
	c       *secagg.Client
	delta   []float32
	samples float64
	params  secagg.Params
	metrics map[string]float64
}

func newSecSites(ss []secaggtest.Site, verify secagg.IdentityVerifier) *secSites {
	w := &secSites{verify: verify, sites: map[string]*secSite{}}
	for i, s := range ss {
		w.ids = append(w.ids, s.ID)
		m := map[string]float64{"train_loss": 0.5 + 0.25*float64(i)}
		if i > 0 {
			m["eval_accuracy"] = 0.6 + 0.1*float64(i)
		}
		w.sites[s.ID] = &secSite{id: s.ID, key: s.Key, delta: []float32{0.1 * float32(i+1), -0.05 * float32(i), 0.02},
			samples: float64(100 * (i + 1)), metrics: m}
	}
	return w
}

// secureSpec is a one-round job over the secure sites.
func (h *harness) secureSpec() JobSpec {
	s := testSpec()
	s.Sites, s.Rounds, s.MaxAttempts = h.sec.ids, 1, 1
	s.SecAgg.MaxWeight = 1000
	return s
}

func secInit() model.Weights { return model.MustWeights(vec("w", 0.5, -1, 2)) }

// answer lets each listed site answer its current task of phase.
func (h *harness) answer(phase string, sites ...string) {
	h.t.Helper()
	if err := h.answerAll(phase, sites...); err != nil {
		h.t.Fatal(err)
	}
}

// answerAll lets each listed site answer its current task of phase and
// returns the first refusal.
func (h *harness) answerAll(phase string, sites ...string) error {
	for _, id := range sites {
		tk := h.tasks[id]
		if tk.Phase != phase || tk.Kind != fed.KindPhase {
			return fmt.Errorf("site %s has task %s/%s, want phase %s", id, tk.Kind, tk.Phase, phase)
		}
		if err := h.answerTask(h.sec.sites[id], tk); err != nil {
			return err
		}
	}
	return nil
}

// send exchanges one payload of site in its current task's phase.
func (h *harness) send(site, url string, b []byte) error {
	t := h.tasks[site]
	return h.step(PhaseMessage{Site: site, Job: t.Job, Round: t.Round, Attempt: t.Attempt, Nonce: t.Nonce, Phase: t.Phase,
		Payload: Payload{Type: url, Value: b}})
}

func (h *harness) answerTask(s *secSite, t Task) error {
	var reply secagg.Message
	var err error
	switch {
	case t.Phase == PhaseSecInput:
		return h.maskedInput(s, t)
	case t.Payload.Type == secagg.TypeURL(secagg.KindRoundSpec):
		var spec *secagg.RoundSpec
		if spec, err = secagg.DecodeRoundSpec(t.Payload.Value); err != nil {
			return err
		}
		s.params = spec.Context.Params
		if s.c, err = secagg.NewClient(secagg.ClientConfig{Context: spec.Context, Self: s.id, Identity: s.key, VerifyIdentity: h.sec.verify}); err != nil {
			return err
		}
		reply, err = s.c.Advertise()
	default:
		var m secagg.Message
		if m, err = secagg.DecodeTyped(t.Payload.Type, t.Payload.Value); err != nil {
			return err
		}
		reply, err = s.c.Handle(m)
	}
	if err != nil || reply == nil {
		return err
	}
	b, _ := reply.MarshalBinary()
	return h.send(s.id, secagg.TypeURL(reply.Type().String()), b)
}

// maskedInput encodes the site's delta and metrics and sends its masked
// input in parts of 16 bytes.
func (h *harness) maskedInput(s *secSite, t Task) error {
	relay, err := secagg.DecodeTyped(t.Payload.Type, t.Payload.Value)
	if err != nil {
		return err
	}
	in, err := secagg.PreScale(s.delta, s.samples, s.params)
	if err != nil {
		return err
	}
	tail, _ := fed.EncodeSecureMetrics(s.metrics, t.SecureMetrics, t.SecureMetricBound, in.Weight, s.params.Clip)
	in.Values = append(in.Values, tail...)
	if _, err := s.c.SetInput(in); err != nil {
		return err
	}
	mi, err := s.c.Handle(relay)
	if err != nil {
		return err
	}
	b, _ := mi.MarshalBinary()
	for _, p := range secagg.SplitPayload(mi.Type().String(), b, 16) {
		pb, _ := p.MarshalBinary()
		if err := h.send(s.id, secagg.TypeURL(secagg.KindPart), pb); err != nil {
			return err
		}
	}
	return nil
}

// fedavg is the plain weighted mean of init + delta over sites.
func (w *secSites) fedavg(init []float32, sites ...string) []float64 {
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

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

func wantData(t testing.TB, w model.Weights, name string, want ...float32) {
	t.Helper()
	tt, ok := w.Get(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	for i, v := range want {
		if math.Abs(float64(tt.Data[i]-v)) > 1e-6 {
			t.Fatalf("%s = %v, want %v", name, tt.Data, want)
		}
	}
}
