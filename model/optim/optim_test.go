package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// refAdam is a direct float64 transcription of AdamW (Loshchilov & Hutter)
// for one scalar parameter.
func refAdam(w float64, grads []float64, lr, b1, b2, eps, wd float64) float64 {
	var m, v float64
	for t, g := range grads {
		n := float64(t + 1)
		w -= lr * wd * w
		m = b1*m + (1-b1)*g
		v = b2*v + (1-b2)*g*g
		w -= lr * (m / (1 - math.Pow(b1, n))) / (math.Sqrt(v/(1-math.Pow(b2, n))) + eps)
	}
	return w
}

func TestAdamMatchesReference(t *testing.T) {
	cases := []struct {
		name  string
		grads []float64
		wd    float64
	}{
		{"one step", []float64{0.5}, 0},
		{"sign change", []float64{0.5, -2, 0.1}, 0},
		{"decay", []float64{0.3, 0.3, -0.1, 0.7}, 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: tc.wd}
			a, err := NewAdam(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := []Param{{Name: "w", Value: []float32{1.5}, Grad: []float32{0}}}
			for _, g := range tc.grads {
				p[0].Grad[0] = float32(g)
				if _, err := a.Step(p); err != nil {
					t.Fatal(err)
				}
			}
			want := refAdam(1.5, tc.grads, 0.01, 0.9, 0.999, 1e-8, tc.wd)
			if math.Abs(float64(p[0].Value[0])-want) > 1e-6 {
				t.Fatalf("w = %v, want %v", p[0].Value[0], want)
			}
		})
	}
}

func TestAdamClipsAndRejectsNaN(t *testing.T) {
	a, _ := NewAdam(AdamConfig{LR: 0.1, Beta1: 0, Beta2: 0, Eps: 1e-12, ClipNorm: 1})
	p := []Param{{Name: "w", Value: []float32{0, 0}, Grad: []float32{3, 4}}}
	norm, err := a.Step(p)
	if err != nil || norm != 5 {
		t.Fatalf("norm %v err %v", norm, err)
	}
	// beta = 0: the update is lr * sign(g) whatever the scale.
	if math.Abs(float64(p[0].Value[0])+0.1) > 1e-6 {
		t.Fatalf("value %v", p[0].Value)
	}
	p[0].Grad[0] = float32(math.NaN())
	if _, err := a.Step(p); err == nil {
		t.Fatal("NaN gradient accepted")
	}
	if err := (AdamConfig{}).Validate(); err == nil {
		t.Fatal("zero config accepted")
	}
}

func TestProximalGradientByFiniteDifference(t *testing.T) {
	global := model.MustWeights(model.Tensor{Name: "a", Shape: []int{3}, Data: []float32{0.5, -1, 2}})
	w := []float64{1, 0.25, 2.5}
	const mu = 0.3
	term := func(w []float64) float64 {
		var s float64
		for i, v := range w {
			d := v - float64(global.Tensors()[0].Data[i])
			s += d * d
		}
		return mu / 2 * s
	}
	p := []Param{
		{Name: "a", Value: []float32{1, 0.25, 2.5}, Grad: make([]float32, 3)},
		{Name: "local.norm.weight", Value: []float32{7}, Grad: []float32{0}},
	}
	got, err := AddProximal(p, global, mu)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-term(w)) > 1e-6 {
		t.Fatalf("term %v, want %v", got, term(w))
	}
	const h = 1e-6
	for i := range w {
		wp := append([]float64(nil), w...)
		wm := append([]float64(nil), w...)
		wp[i] += h
		wm[i] -= h
		fd := (term(wp) - term(wm)) / (2 * h)
		if math.Abs(float64(p[0].Grad[i])-fd) > 1e-5 {
			t.Fatalf("grad[%d] = %v, finite difference %v", i, p[0].Grad[i], fd)
		}
	}
	if p[1].Grad[0] != 0 {
		t.Fatal("local-only parameter got a proximal term")
	}
}

func TestEMA(t *testing.T) {
	w := model.MustWeights(model.Tensor{Name: "a", Shape: []int{1}, Data: []float32{0}})
	e, err := NewEMA(w, 0.5, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float32{1, 1, 3} {
		if err := e.Update([]Param{{Name: "a", Value: []float32{v}}}); err != nil {
			t.Fatal(err)
		}
	}
	// 0 -> 0.5 -> 0.75 -> 1.875
	if got := e.Weights().Tensors()[0].Data[0]; got != 1.875 {
		t.Fatalf("ema %v", got)
	}
	warm, _ := NewEMA(w, 0.999, true)
	_ = warm.Update([]Param{{Name: "a", Value: []float32{10}}})
	// First warm-up rate is 1/10: 0.1*0 + 0.9*10.
	if got := warm.Weights().Tensors()[0].Data[0]; math.Abs(float64(got)-9) > 1e-6 {
		t.Fatalf("warm-up ema %v", got)
	}
	if err := e.Update([]Param{{Name: "b", Value: []float32{1}}}); err == nil {
		t.Fatal("unknown parameter accepted")
	}
}

func TestEarlyStop(t *testing.T) {
	e := EarlyStop{Patience: 2, MinDelta: 0.01}
	steps := []struct {
		loss           float64
		improved, stop bool
	}{
		{1.0, true, false}, {0.995, false, false}, {0.9, true, false},
		{math.NaN(), false, false}, {0.95, false, true},
	}
	for i, s := range steps {
		imp, stop := e.Observe(i, s.loss)
		if imp != s.improved || stop != s.stop {
			t.Fatalf("check %d (loss %v): improved %v stop %v, want %v %v", i, s.loss, imp, stop, s.improved, s.stop)
		}
	}
	if l, at := e.Best(); l != 0.9 || at != 2 {
		t.Fatalf("best %v at %d", l, at)
	}
}

func TestBatcherCoversEachPass(t *testing.T) {
	items := []int{10, 11, 12, 13, 14}
	b := NewBatcher(items, 2, rand.New(rand.NewPCG(1, 2)))
	seen := map[int]int{}
	for range 5 { // 10 draws = two full passes
		for _, v := range b.Next() {
			seen[v]++
		}
	}
	for _, v := range items {
		if seen[v] != 2 {
			t.Fatalf("item %d drawn %d times in two passes: %v", v, seen[v], seen)
		}
	}
}

func TestLRAt(t *testing.T) {
	base := AdamConfig{LR: 1, WarmupSteps: 10}
	cos := base
	cos.DecaySteps, cos.MinLRRatio = 110, 0.1
	cases := []struct {
		name string
		cfg  AdamConfig
		step int
		want float64
	}{
		{"warm-up first step", base, 1, 0.1},
		{"warm-up middle", base, 5, 0.5},
		{"warm-up done", base, 10, 1},
		{"constant after", base, 1000, 1},
		{"step 0 is step 1", base, 0, 0.1},
		{"no warm-up", AdamConfig{LR: 0.5}, 1, 0.5},
		{"cosine start", cos, 10, 1},
		{"cosine middle", cos, 60, 0.1 + 0.9*0.5},
		{"cosine quarter", cos, 35, 0.1 + 0.9*0.5*(1+math.Cos(math.Pi/4))},
		{"cosine end", cos, 110, 0.1},
		{"held after the end", cos, 500, 0.1},
		{"decay not after warm-up: constant", AdamConfig{LR: 1, WarmupSteps: 10, DecaySteps: 5}, 50, 1},
	}
	for _, tc := range cases {
		if got := tc.cfg.LRAt(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: LRAt(%d) = %v, want %v", tc.name, tc.step, got, tc.want)
		}
	}
	if RoundStart(1, 40) != 0 || RoundStart(3, 40) != 80 || RoundStart(0, 40) != 0 {
		t.Fatal("RoundStart")
	}
}

// TestScheduleFollowsTheJobAcrossRounds: a job run as rounds (Reset,
// SetScheduleStep at the round's start) takes its steps at the learning
// rates of one continuous run, so a warm-up longer than a round still
// reaches the full rate. Before the fix the warm-up restarted every round.
func TestScheduleFollowsTheJobAcrossRounds(t *testing.T) {
	cfg := AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 100, DecaySteps: 300, MinLRRatio: 0.1}
	a, err := NewAdam(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const rounds, steps = 10, 30
	p := []Param{{Name: "w", Value: []float32{0}, Grad: []float32{1}}}
	for r := 1; r <= rounds; r++ {
		StartRound(a, nil, cfg.LR, r, steps)
		for s := 1; s <= steps; s++ {
			want := cfg.LRAt((r-1)*steps + s)
			if got := a.LR(); got != want {
				t.Fatalf("round %d step %d: lr %v, want the job's %v", r, s, got, want)
			}
			before := p[0].Value[0]
			if _, err := a.Step(p); err != nil {
				t.Fatal(err)
			}
			// With a constant gradient every Adam step moves by lr (up to eps).
			if moved := float64(before - p[0].Value[0]); math.Abs(moved-want) > 1e-6 {
				t.Fatalf("round %d step %d moved %v, want lr %v", r, s, moved, want)
			}
		}
	}
	if a.ScheduleStep() != rounds*steps {
		t.Fatalf("schedule step %d", a.ScheduleStep())
	}
}

func TestRoundMoments(t *testing.T) {
	cfg := AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	grads := []float32{0.5, -1, 2, 0.25}
	// run takes one round of steps from w with the given moments policy.
	run := func(a *Adam, keep *RoundMoments, w float32, round int) float32 {
		StartRound(a, keep, cfg.LR, round, len(grads))
		p := []Param{{Name: "w", Value: []float32{w}, Grad: []float32{0}}}
		for _, g := range grads {
			p[0].Grad[0] = g
			if _, err := a.Step(p); err != nil {
				t.Fatal(err)
			}
		}
		if keep != nil {
			keep.End(a, round)
		}
		return p[0].Value[0]
	}
	a, _ := NewAdam(cfg)
	var keep RoundMoments
	w1 := run(a, &keep, 1, 1)
	m1 := a.Moments()
	w2 := run(a, &keep, w1, 2)
	// A retry of round 2 starts from the same moments: the same result.
	if again := run(a, &keep, w1, 2); again != w2 {
		t.Fatalf("retried round 2: %v, first attempt %v", again, w2)
	}
	// The same rounds with zero moments each round differ.
	fresh, _ := NewAdam(cfg)
	if w := run(fresh, nil, w1, 2); w == w2 {
		t.Fatal("kept moments made no difference")
	}
	// One continuous run of both rounds' gradients equals the kept moments.
	c, _ := NewAdam(cfg)
	p := []Param{{Name: "w", Value: []float32{1}, Grad: []float32{0}}}
	for range 2 {
		for _, g := range grads {
			p[0].Grad[0] = g
			if _, err := c.Step(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if p[0].Value[0] != w2 {
		t.Fatalf("continuous %v, kept moments %v", p[0].Value[0], w2)
	}
	// A site that skipped a round starts from zero moments.
	b, _ := NewAdam(cfg)
	if keep.Begin(b, 4) || b.Moments().M != nil {
		t.Fatal("round 4 restored moments saved after round 2")
	}
	if m1.Steps != len(grads) || len(m1.M) != 1 {
		t.Fatalf("moments %+v", m1)
	}
}
