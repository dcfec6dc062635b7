package engine

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func emaSpec(decay float64, warmup *bool) JobSpec {
	s := testSpec()
	s.Rounds = 3
	s.Sites = []string{"a", "b"}
	s.Strategy.EMADecay, s.Strategy.EMAWarmup = decay, warmup
	return s
}

func boolp(b bool) *bool { return &b }

func TestEMADecayAt(t *testing.T) {
	cases := []struct {
		name   string
		decay  float64
		warmup *bool
		want   map[int]float64 // round -> d_r
	}{
		{"off", 0, nil, map[int]float64{1: 0, 2: 0, 50: 0}},
		{"warm-up by default", 0.9, nil, map[int]float64{2: 1.0 / 10, 3: 2.0 / 11, 4: 3.0 / 12, 81: 80.0 / 89, 82: 0.9, 500: 0.9}},
		{"warm-up below a small decay", 0.15, boolp(true), map[int]float64{2: 0.1, 3: 0.15, 10: 0.15}},
		{"no warm-up", 0.9, boolp(false), map[int]float64{2: 0.9, 3: 0.9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := StrategySpec{EMADecay: tc.decay, EMAWarmup: tc.warmup}
			for r, want := range tc.want {
				if got := s.EMADecayAt(r); got != want {
					t.Errorf("round %d: d = %v, want %v", r, got, want)
				}
			}
		})
	}
}

func TestEMAValidate(t *testing.T) {
	for _, d := range []float64{-0.1, 1, 1.5, math.NaN()} {
		s := DefaultStrategySpec()
		s.EMADecay = d
		if err := s.Validate("strategy"); err == nil {
			t.Errorf("ema_decay %v accepted", d)
		}
	}
	for _, d := range []float64{0, 0.5, 0.999} {
		s := DefaultStrategySpec()
		s.EMADecay = d
		if err := s.Validate("strategy"); err != nil {
			t.Errorf("ema_decay %v: %v", d, err)
		}
	}
}

func TestUpdateEMA(t *testing.T) {
	ema := model.MustWeights(vec("a", 1, -2, 0.3), vec("b", 8))
	g := model.MustWeights(vec("a", 3, 2, 0.3), vec("b", 0))
	before := ema.Hash() + g.Hash()
	got, err := UpdateEMA(ema, g, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	// 0.75*1 + 0.25*3 = 1.5; 0.75*-2 + 0.25*2 = -1; equal values stay; 0.75*8 = 6.
	wantExact(t, got, "a", 1.5, -1, 0.3)
	wantExact(t, got, "b", 6)
	if ema.Hash()+g.Hash() != before {
		t.Error("UpdateEMA modified its arguments")
	}
	if _, err := UpdateEMA(ema, model.MustWeights(vec("a", 1, 2, 3)), 0.5); !errors.Is(err, ErrEMAState) {
		t.Errorf("missing tensor: %v, want ErrEMAState", err)
	}
	if _, err := UpdateEMA(ema, g, 1); !errors.Is(err, ErrEMAState) {
		t.Errorf("decay 1: %v, want ErrEMAState", err)
	}
}

// wantExact compares a tensor with float32 values bit for bit.
func wantExact(t *testing.T, w model.Weights, name string, want ...float32) {
	t.Helper()
	tt, ok := w.Get(name)
	if !ok || len(tt.Data) != len(want) {
		t.Fatalf("tensor %s: %v, want %v", name, tt.Data, want)
	}
	for i := range want {
		if math.Float32bits(tt.Data[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s = %v, want exactly %v", name, tt.Data, want)
		}
	}
}

// runEMAJob drives a 3-round FedBN job over sites a and b, whose equal
// uploads make the globals of rounds 1-3 w = (1,-2), (2,4), (4,0); the
// local tensor bn keeps its initial value. It returns the commits.
func runEMAJob(t *testing.T, spec JobSpec) (*harness, []CommitRound) {
	t.Helper()
	spec.Strategy.Name, spec.Strategy.LocalOnly = StrategyFedBN, []string{`^bn$`}
	h := newHarness(t, Config{})
	h.join("a", "b")
	h.startJob(spec, model.MustWeights(vec("bn", 0.3, 0.7), vec("w", 0, 0)))
	for _, g := range [][]float32{{1, -2}, {2, 4}, {4, 0}} {
		must(t, h.deliver("a", model.MustWeights(vec("w", g...)), 5))
		must(t, h.deliver("b", model.MustWeights(vec("w", g...)), 5))
		h.commitLast()
	}
	if len(h.commits) != 4 || len(h.ended) != 1 || h.ended[0].State != JobDone {
		t.Fatalf("%d commits, ended %+v", len(h.commits), h.ended)
	}
	return h, h.commits
}

// TestEngineEMAHandComputed checks the EMA of each committed round
// against values worked out by hand.
func TestEngineEMAHandComputed(t *testing.T) {
	f32 := func(x float64) float32 { return float32(x) }
	cases := []struct {
		name  string
		spec  JobSpec
		wantW [][]float32 // EMA of w after rounds 1..3
	}{
		// d = 0.5: 1, (1+2)/2 = 1.5, (1.5+4)/2 = 2.75; -2, 1, 0.5.
		{"decay 0.5 without warm-up", emaSpec(0.5, boolp(false)), [][]float32{{1, -2}, {1.5, 1}, {2.75, 0.5}}},
		// d_2 = 1/10: 0.1*1 + 0.9*2 = 1.9, 0.1*-2 + 0.9*4 = 3.4;
		// d_3 = 2/11: (2*1.9 + 9*4)/11 = 39.8/11, (2*3.4 + 9*0)/11 = 6.8/11.
		{"decay 0.9 with warm-up", emaSpec(0.9, nil), [][]float32{{1, -2}, {1.9, 3.4}, {f32(39.8 / 11), f32(6.8 / 11)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, commits := runEMAJob(t, tc.spec)
			if commits[0].EMA.Len() != 0 || commits[0].EMAHash != "" {
				t.Fatalf("round 0 has an EMA %s", commits[0].EMAHash)
			}
			for r := 1; r <= 3; r++ {
				c := commits[r]
				if c.EMAHash != c.EMA.Hash() || c.Summary.EMAHash != c.EMAHash {
					t.Fatalf("round %d: EMA hash %s, weights %s, summary %s", r, c.EMAHash, c.EMA.Hash(), c.Summary.EMAHash)
				}
				wantULP(t, c.EMA, "w", tc.wantW[r-1]...)
				wantExact(t, c.EMA, "bn", 0.3, 0.7)
			}
			if commits[1].EMAHash != commits[1].Hash {
				t.Error("round 1's EMA is not its global model")
			}
			last := commits[3]
			st := h.e.Jobs()[0]
			if st.EMAOutput != last.EMAHash || st.Output != last.Hash || st.EMAOutput == st.Output {
				t.Fatalf("status outputs %s / ema %s, want %s / %s", st.Output, st.EMAOutput, last.Hash, last.EMAHash)
			}
			if w, ok := h.e.Model(last.EMAHash); !ok || w.Hash() != last.EMAHash {
				t.Error("EMA not downloadable by hash from the engine")
			}
		})
	}
}

// wantULP compares float32 values within one unit in the last place.
func wantULP(t *testing.T, w model.Weights, name string, want ...float32) {
	t.Helper()
	tt, _ := w.Get(name)
	for i, v := range want {
		ulp := math.Nextafter32(v, float32(math.Inf(1))) - v
		if math.Abs(float64(tt.Data[i]-v)) > float64(ulp) {
			t.Fatalf("%s = %v, want %v (1 ulp)", name, tt.Data, want)
		}
	}
}

func TestEngineWithoutEMA(t *testing.T) {
	h, commits := runEMAJob(t, emaSpec(0, nil))
	for _, c := range commits {
		if c.EMA.Len() != 0 || c.EMAHash != "" || c.Summary.EMAHash != "" {
			t.Fatalf("round %d has an EMA with ema_decay 0", c.Round)
		}
	}
	if st := h.e.Jobs()[0]; st.EMAOutput != "" {
		t.Fatalf("EMA output %s with ema_decay 0", st.EMAOutput)
	}
}

// TestEngineResumeEMA resumes after round 2 and checks that round 3's EMA
// equals the uninterrupted one bit for bit, and that a resume point
// without a fitting EMA is refused.
func TestEngineResumeEMA(t *testing.T) {
	spec := emaSpec(0.9, nil)
	_, ref := runEMAJob(t, spec)
	spec.Strategy.Name, spec.Strategy.LocalOnly = StrategyFedBN, []string{`^bn$`}

	h := newHarness(t, Config{})
	h.join("a", "b")
	must(t, h.step(Resume{Spec: spec, Point: ResumePoint{Committed: 2, Global: ref[2].Global, EMA: ref[2].EMA}}))
	for _, s := range []string{"a", "b"} {
		must(t, h.deliver(s, model.MustWeights(vec("w", 4, 0)), 5))
	}
	if got := h.commitLast(); got.Round != 3 || got.EMAHash != ref[3].EMAHash || got.Hash != ref[3].Hash {
		t.Fatalf("resumed round %d EMA %s, uninterrupted %s", got.Round, got.EMAHash, ref[3].EMAHash)
	}

	bad := []struct {
		name string
		ema  model.Weights
	}{
		{"missing", model.Weights{}},
		{"other tensors", model.MustWeights(vec("w", 1, 2))},
		{"non-finite", model.MustWeights(vec("bn", 0.3, 0.7), vec("w", float32(math.NaN()), 0))},
	}
	for _, tc := range bad {
		e := New(Config{Rand: h.e.cfg.Rand})
		err := e.Step(h.now, Resume{Spec: spec, Point: ResumePoint{Committed: 2, Global: ref[2].Global, EMA: tc.ema}})
		if err == nil || (!errors.Is(err, ErrEMAState) && !errors.Is(err, model.ErrNonFinite)) {
			t.Errorf("%s EMA: %v, want a refusal", tc.name, err)
		}
	}
	e := New(Config{Rand: h.e.cfg.Rand})
	if err := e.Step(h.now, Resume{Spec: spec, Point: ResumePoint{Committed: 0, Global: ref[0].Global}}); err != nil {
		t.Errorf("round 0 needs no EMA: %v", err)
	}
}

// TestSecureRoundsUpdateEMA runs two secure-aggregation rounds: the EMA
// of round 2 is the mean of the two securely aggregated globals (d = 0.5).
func TestSecureRoundsUpdateEMA(t *testing.T) {
	h := newSecureHarness(t, 3, Config{})
	h.join(h.sec.ids...)
	spec := h.secureSpec()
	spec.Rounds, spec.Strategy.EMADecay, spec.Strategy.EMAWarmup = 2, 0.5, boolp(false)
	h.startJob(spec, secInit())
	var globals []model.Weights
	for r := 1; r <= 2; r++ {
		for _, ph := range securePhases {
			h.answer(ph, h.sec.ids...)
		}
		c := h.commitLast()
		if c.Round != r || c.EMA.Len() == 0 {
			t.Fatalf("round %d: commit of round %d, EMA %v; audit %+v", r, c.Round, c.EMA, h.audit)
		}
		globals = append(globals, c.Global)
		if r == 1 && c.EMAHash != c.Hash {
			t.Fatal("round 1's EMA is not its global model")
		}
		if r == 2 {
			g1, _ := globals[0].Get("w")
			g2, _ := globals[1].Get("w")
			want := make([]float32, len(g1.Data))
			for i := range want {
				want[i] = float32((float64(g1.Data[i]) + float64(g2.Data[i])) / 2)
			}
			if globals[0].Hash() == globals[1].Hash() {
				t.Fatal("the two rounds' globals are equal: the test shows nothing")
			}
			wantExact(t, c.EMA, "w", want...)
		}
	}
}

// TestDecodeEMAKeys checks the TOML keys of the server EMA and of the
// sample job's weights, and that bad values are reported with the others.
func TestDecodeEMAKeys(t *testing.T) {
	spec, err := DecodeJobSpec([]byte(`id = "d"
kind = "train"
model = "ddpm"
[strategy]
ema_decay = 0.9
ema_warmup = false
`), "d.toml")
	if err != nil || spec.Strategy.EMADecay != 0.9 || spec.Strategy.EMAWarmup == nil || *spec.Strategy.EMAWarmup || spec.Strategy.EMADecayAt(2) != 0.9 {
		t.Fatalf("decoded %+v: %v", spec.Strategy, err)
	}
	if spec, err = DecodeJobSpec([]byte("id = \"d\"\nkind = \"train\"\nmodel = \"ddpm\"\n"), "d.toml"); err != nil || spec.Strategy.EMAOn() {
		t.Fatalf("default spec keeps an EMA: %+v %v", spec.Strategy, err)
	}
	spec, err = DecodeJobSpec([]byte(`id = "s"
kind = "sample"
[sample]
checkpoint = "job:d"
weights = "final"
levels = 1
`), "s.toml")
	if err != nil || spec.Sample.Weights != OutputFinal {
		t.Fatalf("sample weights %q: %v", spec.Sample.Weights, err)
	}
	_, err = DecodeJobSpec([]byte(`id = "s"
kind = "sample"
[sample]
checkpoint = "job:d#ema"
weights = "final"
levels = 0
`), "s.toml")
	if err == nil || !strings.Contains(err.Error(), "contradicts") || !strings.Contains(err.Error(), "levels") {
		t.Fatalf("contradicting weights: %v", err)
	}
}
