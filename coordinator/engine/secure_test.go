package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// runSecure plays a secure round in which the sites listed in drop fail
// (gossip) after sharing keys, before sending their masked input.
func (h *harness) runSecure(drop ...string) {
	h.t.Helper()
	h.join(h.sec.ids...)
	h.startJob(h.secureSpec(), secInit())
	h.answer(PhaseSecAdvertise, h.sec.ids...)
	h.answer(PhaseSecShareKeys, h.sec.ids...)
	var live []string
	for _, id := range h.sec.ids {
		if !slices.Contains(drop, id) {
			live = append(live, id)
		}
	}
	for _, id := range drop {
		h.step(SiteDown{Site: id, Reason: ReasonGossipFailed, Detail: "gossip: node failed"})
	}
	h.answer(PhaseSecInput, live...)
	h.answer(PhaseSecConsistency, live...)
	h.answer(PhaseSecUnmask, live...)
}

// TestSecureRoundMatchesFedAvg checks the securely aggregated model and
// round metrics against the plain weighted mean of the survivors, within
// the fixed-point error.
func TestSecureRoundMatchesFedAvg(t *testing.T) {
	for _, drop := range [][]string{nil, {"site-001"}} {
		h := newSecureHarness(t, 3, Config{})
		h.runSecure(drop...)
		if len(h.commits) != 2 {
			t.Fatalf("drop %v: round 1 not committed; audit %+v", drop, h.audit)
		}
		c := h.commitLast()
		var live []string
		for _, id := range h.sec.ids {
			if !slices.Contains(drop, id) {
				live = append(live, id)
			}
		}
		want := h.sec.fedavg(secInit().Flatten(), live...)
		got := c.Global.Flatten()
		// Fixed point: each of n elements and weights is within half a
		// step; the mean's error is about n*step/sum(weights), plus
		// float32 rounding.
		p := h.sec.sites[live[0]].params
		bound := 3*p.Step(3)/(100.0/1000) + 4*math.Pow(2, -23)*2
		for i := range want {
			if d := math.Abs(float64(got[i]) - want[i]); d > bound {
				t.Errorf("drop %v element %d: secure %v, fedavg %v (|d| %g > %g)", drop, i, got[i], want[i], d, bound)
			}
		}
		if !slices.Equal(c.Summary.Accepted, live) || c.Summary.Metrics["secagg_survivors"] != float64(len(live)) {
			t.Errorf("summary accepted %v metrics %v, want %v", c.Summary.Accepted, c.Summary.Metrics, live)
		}
		// The round's metrics are the survivors' sample-weighted means,
		// each over the sites that reported it.
		for _, name := range []string{"train_loss", "eval_accuracy"} {
			var num, den float64
			for _, id := range live {
				if v, ok := h.sec.sites[id].metrics[name]; ok {
					num, den = num+h.sec.sites[id].samples*v, den+h.sec.sites[id].samples
				}
			}
			if got, ok := c.Summary.Metrics[name]; !ok || math.Abs(got-num/den) > 1e-4 {
				t.Errorf("%s: secure round says %v (present %v), weighted mean %v", name, got, ok, num/den)
			}
		}
		if _, ok := c.Summary.Metrics["eval_loss"]; ok || len(c.Summary.SiteMetrics) != 0 {
			t.Errorf("metrics no site reported, or per-site metrics: %v %v", c.Summary.Metrics, c.Summary.SiteMetrics)
		}
	}
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
			h := newSecureHarness(t, 3, Config{})
			h.join(h.sec.ids...)
			spec := h.secureSpec()
			spec.Strategy = tc.strategy
			h.startJob(spec, tc.init)
			for _, ph := range securePhases {
				h.answer(ph, h.sec.ids...)
			}
			if len(h.commits) != 2 {
				t.Fatalf("round 1 not committed: %+v", h.audit)
			}
			got := h.commitLast().Global
			shared := model.MustWeights(vec("w", 0.5, -1, 2))
			mean := h.sec.fedavg(shared.Flatten(), h.sec.ids...)
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
