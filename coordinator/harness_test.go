package coordinator

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// harness drives an Engine by hand with a fake time and records effects.
type harness struct {
	t       *testing.T
	e       *Engine
	now     time.Time
	tasks   map[string]Task // last task per site
	cancels map[string]bool
	commits []CommitRound
	audit   []AuditEntry
	ended   []JobEnded
}

func newHarness(t *testing.T, cfg EngineConfig) *harness {
	t.Helper()
	return &harness{t: t, e: NewEngine(cfg, rand.NewChaCha8([32]byte{1})), now: time.Unix(1_000_000, 0),
		tasks: map[string]Task{}, cancels: map[string]bool{}}
}

// drain records effects; commits are left for the test to acknowledge.
func (h *harness) drain() {
	for _, ef := range h.e.Ready() {
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
		case Audit:
			h.audit = append(h.audit, ef.Entry)
		case JobEnded:
			h.ended = append(h.ended, ef)
		}
	}
}

func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.e.Tick(h.now)
	h.drain()
}

func (h *harness) join(sites ...string) {
	for _, s := range sites {
		h.e.SiteUp(s, h.now)
	}
	h.drain()
}

// commitLast acknowledges the last CommitRound effect as durable.
func (h *harness) commitLast() CommitRound {
	h.t.Helper()
	if len(h.commits) == 0 {
		h.t.Fatal("no commit pending")
	}
	c := h.commits[len(h.commits)-1]
	h.e.Committed(c.Job, c.Round, h.now)
	h.drain()
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
	err := h.e.Deliver(site, metaOf(t, samples), w, h.now)
	h.drain()
	return err
}

func (h *harness) rejections(reason string) int {
	n := 0
	for _, a := range h.audit {
		if a.Event == EventRejected && a.Reason == reason {
			n++
		}
	}
	return n
}

func vec(name string, vals ...float32) model.Tensor {
	return model.Tensor{Name: name, Shape: []int{len(vals)}, Data: vals}
}

func testSpec() JobSpec {
	s := DefaultJobSpec()
	s.ID = "job1"
	s.Rounds = 2
	s.Quorum = 2
	s.Sites = []string{"a", "b", "c"}
	s.Deadlines = Deadlines{Select: Duration(10 * time.Second), Init: Duration(5 * time.Second), Train: Duration(20 * time.Second)}
	return s
}

// startJob submits spec with an initial model and commits round 0.
func (h *harness) startJob(spec JobSpec, init model.Weights) {
	h.t.Helper()
	if err := h.e.Submit(spec, &init, h.now); err != nil {
		h.t.Fatal(err)
	}
	h.drain()
	h.commitLast()
}

var _ = protocol.KindTrain
