package coordinator

import (
	"context"
	"errors"
	"github.com/synthfed/synthfed/coordinator/engine"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
)

// newDriven opens a coordinator on dir without running its loop: the test
// goroutine owns the Engine and carries out its effects with flush, as the
// loop would.
func newDriven(t *testing.T, dir string, jobs ...JobSpec) *Coordinator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Insecure, cfg.DataDir, cfg.Gossip.Enabled, cfg.Jobs = true, dir, false, jobs
	c, err := New(cfg, Options{Clock: clock.NewFake(time.Unix(1_000_000, 0)), Listener: bufconn.Listen(1 << 16)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.lis.Close(); c.store.Close() })
	return c
}

// crash drops a driven coordinator as kill -9 would: no graceful stop,
// only the file lock released so that the next one can open the store.
func (c *Coordinator) crash() {
	c.lis.Close()
	c.store.Close()
}

// driveUpdate is a site's upload for a round: the global it was sent plus
// a step that depends on the site and the round.
func driveUpdate(global model.Weights, site string, round int) model.Weights {
	out := global.Clone()
	for _, t := range out.Tensors() {
		for i := range t.Data {
			t.Data[i] += float32(len(site)*(i+1)) * 0.1 / float32(round) * float32(1-2*(round%2))
		}
	}
	return out
}

// drive answers the pending tasks of sites (init with init, train with
// driveUpdate) until job has committed round upto or ended; with
// partial, the first site of round upto+1 uploads before it returns.
func drive(t *testing.T, c *Coordinator, job string, sites []string, init model.Weights, upto int, partial bool) {
	t.Helper()
	up := map[string]bool{}
	for _, s := range c.engine.Sites() {
		up[s.ID] = s.Up
	}
	for _, site := range sites {
		if !up[site] {
			must(t, c.step(engine.SiteUp{Site: site}))
		}
	}
	for range 100 {
		c.flush()
		var st JobStatus
		for _, s := range c.engine.Jobs() {
			if s.ID == job {
				st = s
			}
		}
		if st.State != JobRunning && st.State != JobPending || st.Committed >= upto && !partial {
			return
		}
		for _, site := range sites {
			for _, tk := range c.engine.PendingTasks(site) {
				w := init
				if tk.Round > 0 {
					g, ok := c.engine.Model(tk.ModelHash)
					if !ok {
						t.Fatalf("task %s: global %s unknown", tk.ID, tk.ModelHash)
					}
					w = driveUpdate(g, site, tk.Round)
				}
				meta := engine.UploadMeta{TaskID: tk.ID, Job: tk.Job, Round: tk.Round, Attempt: tk.Attempt, Nonce: tk.Nonce, NumSamples: int64(10 * len(site))}
				must(t, c.step(engine.UploadReceived{Site: site, Meta: meta, Weights: w}))
				c.flush()
				if partial && tk.Round == upto+1 {
					return
				}
			}
		}
	}
	t.Fatal("job did not progress")
}

func emaCoordSpec() JobSpec {
	s := testSpec()
	s.ID, s.Rounds, s.Quorum, s.Sites = "ddpm", 4, 2, []string{"a", "bb"}
	s.Strategy = DefaultStrategySpec()
	s.Strategy.Name, s.Strategy.EMADecay = StrategyFedAdam, 0.9 // with optimiser state too
	return s
}

func emaInit() model.Weights { return model.MustWeights(vec("b", 0.25), vec("w", 0.5, -1, 2)) }

// roundEMAs lists the EMA hash of every committed round of job.
func roundEMAs(t *testing.T, c *Coordinator, job string) []string {
	t.Helper()
	rounds, err := c.Rounds(job)
	must(t, err)
	var out []string
	for _, r := range rounds {
		out = append(out, r.Summary.EMAHash)
	}
	return out
}

// TestEMASurvivesCrash runs a job uninterrupted, then again with a crash
// after round 2 while round 3 is half uploaded, and compares every round's
// EMA hash and checkpoint bytes.
func TestEMASurvivesCrash(t *testing.T) {
	sites := []string{"a", "bb"}
	refDir := t.TempDir()
	ref := newDriven(t, refDir, emaCoordSpec())
	drive(t, ref, "ddpm", sites, emaInit(), 4, false)
	want := roundEMAs(t, ref, "ddpm")
	if len(want) != 5 || want[0] != "" || want[1] == "" || want[4] == want[3] {
		t.Fatalf("uninterrupted EMA hashes %q", want)
	}

	dir := t.TempDir()
	c := newDriven(t, dir, emaCoordSpec())
	drive(t, c, "ddpm", sites, emaInit(), 2, true)
	c.crash()
	c2 := newDriven(t, dir) // the job comes from the store
	if st := c2.engine.Jobs()[0]; st.Committed != 2 || st.EMAOutput != want[2] {
		t.Fatalf("resumed at round %d with EMA %.12s, want 2 and %.12s", st.Committed, st.EMAOutput, want[2])
	}
	drive(t, c2, "ddpm", sites, emaInit(), 4, false)
	got := roundEMAs(t, c2, "ddpm")
	for r := range want {
		if got[r] != want[r] {
			t.Errorf("round %d EMA %.12s, uninterrupted %.12s", r, got[r], want[r])
		}
	}
	a, _ := c2.Job("ddpm")
	b, _ := ref.Job("ddpm")
	if a.State != JobDone || a.EMAHash != want[4] || a.EMACheckpoint != b.EMACheckpoint || a.GlobalHash != b.GlobalHash {
		t.Fatalf("resumed record %+v, uninterrupted %+v", a, b)
	}
	x, err1 := os.ReadFile(filepath.Join(dir, "checkpoints", a.EMACheckpoint))
	y, err2 := os.ReadFile(filepath.Join(refDir, "checkpoints", b.EMACheckpoint))
	if err1 != nil || err2 != nil || string(x) != string(y) {
		t.Fatalf("EMA checkpoint bytes differ (%v, %v)", err1, err2)
	}
	if st, err := c2.Wait(context.Background(), "ddpm"); err != nil || st.EMAOutput != want[4] {
		t.Fatalf("Wait: %+v %v", st, err)
	}
	if w, err := c2.EMA("ddpm"); err != nil || w.Hash() != want[4] {
		t.Fatalf("EMA(): %v %v", w.Hash(), err)
	}
}

func sampleOf(checkpoint, weights string) JobSpec {
	s := DefaultJobSpec()
	s.ID, s.Kind, s.Quorum = "sample", JobSample, 1
	s.Sample = SampleSpec{Checkpoint: checkpoint, Weights: weights, Levels: 2}
	return s
}

// TestSampleResolvesEMA checks which model each reference to a finished
// DDPM job resolves to, with and without a server EMA.
func TestSampleResolvesEMA(t *testing.T) {
	c := newDriven(t, t.TempDir(), emaCoordSpec())
	drive(t, c, "ddpm", []string{"a", "bb"}, emaInit(), 4, false)
	plain := emaCoordSpec()
	plain.ID, plain.Strategy.EMADecay = "plain", 0
	must(t, c.submit(plain, c.clk.Now()))
	drive(t, c, "plain", []string{"a", "bb"}, emaInit(), 4, false)
	ddpm, _ := c.Job("ddpm")
	noEMA, _ := c.Job("plain")
	if ddpm.EMAHash == "" || ddpm.EMAHash == ddpm.GlobalHash || noEMA.EMAHash != "" || noEMA.State != JobDone {
		t.Fatalf("records %+v / %+v", ddpm, noEMA)
	}
	cases := []struct {
		checkpoint, weights string
		explicit, hash      string
		err                 error
	}{
		{"job:ddpm", "", "job:ddpm#ema", ddpm.EMAHash, nil},
		{"job:ddpm", "auto", "job:ddpm#ema", ddpm.EMAHash, nil},
		{"job:ddpm", "ema", "job:ddpm#ema", ddpm.EMAHash, nil},
		{"job:ddpm", "final", "job:ddpm#final", ddpm.GlobalHash, nil},
		{"job:ddpm#ema", "", "job:ddpm#ema", ddpm.EMAHash, nil},
		{"job:ddpm#final", "", "job:ddpm#final", ddpm.GlobalHash, nil},
		{ddpm.EMAHash, "", ddpm.EMAHash, ddpm.EMAHash, nil},
		{"job:plain", "", "job:plain#final", noEMA.GlobalHash, nil},
		{"job:plain", "ema", "", "", ErrReference},
		{"job:plain#ema", "", "", "", ErrReference},
	}
	for _, tc := range cases {
		spec := sampleOf(tc.checkpoint, tc.weights)
		must(t, spec.Validate("job"))
		got, err := c.resolve(spec)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s weights %q: %v, want %v", tc.checkpoint, tc.weights, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s weights %q: %v", tc.checkpoint, tc.weights, err)
			continue
		}
		jc, err := JobContext(got)
		if err != nil {
			t.Errorf("%s weights %q: job context: %v", tc.checkpoint, tc.weights, err)
			continue
		}
		if got.Sample.Checkpoint != tc.explicit || jc.Sample.DDPM.Hash != tc.hash || got.Sample.SetID != sampleSetID(spec, tc.hash) {
			t.Errorf("%s weights %q: checkpoint %q, DDPM %.12s, want %q and %.12s", tc.checkpoint, tc.weights,
				got.Sample.Checkpoint, jc.Sample.DDPM.Hash, tc.explicit, tc.hash)
		}
	}
	if w, err := c.loadModel(ddpm.EMAHash); err != nil || w.Hash() != ddpm.EMAHash {
		t.Fatalf("EMA not downloadable from the index: %v", err)
	}
	// A classifier recipe names its set by the DDPM that drew it: the EMA.
	clf := DefaultJobSpec()
	clf.ID, clf.Model, clf.Data.SyntheticLevel, clf.Data.SyntheticCheckpoint = "clf", "classifier", 1, "job:ddpm"
	if got, err := c.resolve(clf); err != nil || got.Data.SyntheticCheckpoint != "job:ddpm#ema" || got.Refs["job:ddpm#ema"].Hash != ddpm.EMAHash {
		t.Fatalf("synthetic_checkpoint resolved to %q %+v: %v", got.Data.SyntheticCheckpoint, got.Refs, err)
	}
	// Elsewhere a plain job reference stays the final model.
	ft := DefaultJobSpec()
	ft.ID, ft.Init.Model = "ft", "job:ddpm"
	if got, err := c.resolve(ft); err != nil || got.Refs["job:ddpm"].Hash != ddpm.GlobalHash {
		t.Fatalf("init.model resolved to %+v: %v", got.Refs, err)
	}
}

func TestSampleWeightsValidation(t *testing.T) {
	h := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		checkpoint, weights string
		ok                  bool
	}{
		{"job:d", "", true},
		{"job:d", "auto", true},
		{"job:d#ema", "ema", true},
		{"job:d#final", "auto", true},
		{"job:d#ema", "final", false},
		{"job:d", "best", false},
		{h, "ema", false},
		{h, "", true},
		{"job:d#", "", false},
		{"job:d#last", "", false},
		{h + "#ema", "", false},
	}
	for _, tc := range cases {
		err := sampleOf(tc.checkpoint, tc.weights).Validate("job")
		if (err == nil) != tc.ok {
			t.Errorf("checkpoint %q weights %q: %v, want ok=%v", tc.checkpoint, tc.weights, err, tc.ok)
		}
	}
}
