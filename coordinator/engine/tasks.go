package engine

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fed"
)

// Task is one unit of work for one site, as the engine hands it out. The
// driver converts it to its wire form at the edge.
type Task struct {
	ID      string
	Site    string
	Job     string
	Round   int
	Attempt int
	// Nonce binds the upload (or the phase messages) to this task.
	Nonce []byte
	// Kind is fed.KindInit, KindTrain, KindPhase, KindSample or
	// KindEvaluate.
	Kind string
	// Phase is the round phase the task belongs to.
	Phase string
	// Model names the trainer.
	Model string
	// ModelHash is the global model to start from (empty for init).
	ModelHash string
	// Deadline is when the phase closes.
	Deadline time.Time
	// Train is the local training: of a train task, and of the masked-input
	// phase of a secure round (the site trains inside it).
	Train model.TrainSpec
	// LocalOnly lists the job's FedBN patterns (with Train).
	LocalOnly []string
	// SecureMetrics and SecureMetricBound name the metrics a site appends
	// to its masked input and their bound (masked-input phase).
	SecureMetrics     []string
	SecureMetricBound float64
	// InitSeed seeds Trainer.Init (init tasks).
	InitSeed int64
	// Payload is the secure-aggregation message that opens a phase task
	// (in the masked-input phase, the share-keys relay).
	Payload Payload
	// Cancel asks the site to stop the task with this ID.
	Cancel bool
}

// UploadMeta is what an upload or report claims about itself.
type UploadMeta struct {
	TaskID     string
	Job        string
	Round      int
	Attempt    int
	Nonce      []byte
	NumSamples int64
	Metrics    map[string]float64
	BaseHash   string
}

type taskStatus int

const (
	taskPending taskStatus = iota
	taskAccepted
	taskRejected
	taskDropped
)

func (s taskStatus) String() string {
	return [...]string{"pending", "accepted", "rejected", "dropped"}[s]
}

// taskState is the engine's record of a handed-out task.
type taskState struct {
	Task
	status taskStatus
	reason string
}

// drawNonces gives every cohort site its nonce for the attempt (one for
// all its phases).
func (e *Engine) drawNonces(r *round) error {
	for _, site := range r.cohort {
		nonce := make([]byte, fed.NonceLen)
		if _, err := io.ReadFull(e.cfg.Rand, nonce); err != nil {
			return fmt.Errorf("nonce: %w", err)
		}
		r.nonces[site] = nonce
	}
	return nil
}

// newTask is the task of r's current phase for site.
func (e *Engine) newTask(j *job, r *round, site, kind string) Task {
	nonce := r.nonces[site]
	label := string(r.phase)
	if kind == fed.KindSample || kind == fed.KindEvaluate {
		label = kind
	}
	return Task{ID: fmt.Sprintf("%s/r%d/a%d/%s/%s/%x", j.spec.ID, r.num, r.attempt, label, site, nonce[:4]),
		Site: site, Job: j.spec.ID, Round: r.num, Attempt: r.attempt, Nonce: nonce, Kind: kind,
		Phase: string(r.phase), Model: j.spec.Model, Deadline: r.deadline, ModelHash: j.globalHash}
}

// sendCollectTasks sends every cohort site the task of r's collection
// phase (init, train, or run for sample and evaluate jobs).
func (e *Engine) sendCollectTasks(j *job, r *round) {
	for _, site := range r.cohort {
		var t Task
		switch {
		case r.phase == PhaseInit:
			t = e.newTask(j, r, site, fed.KindInit)
			t.InitSeed, t.ModelHash = j.spec.Seed, ""
		case j.spec.Kind == JobTrain:
			t = e.newTask(j, r, site, fed.KindTrain)
			t.LocalOnly, t.Train = j.spec.Strategy.LocalOnly, e.trainSpec(j, r, site)
		default:
			t = e.newTask(j, r, site, taskKindOf(j.spec.Kind))
			t.Phase, t.ModelHash = string(PhaseRun), ""
		}
		r.tasks[site] = &taskState{Task: t}
		e.counters.TasksSent++
		e.emit(SendTask{Task: t})
	}
}

// trainSpec is the local training of one site: the job's settings, the
// strategy's adjustments and a seed derived from the job seed, round and
// the site's place in the cohort. It is the one conversion of the job's
// train settings to the trainer's.
func (e *Engine) trainSpec(j *job, r *round, site string) model.TrainSpec {
	idx := sort.SearchStrings(r.cohort, site)
	s := model.TrainSpec{JobID: j.spec.ID, Round: r.num, LocalSteps: j.spec.Train.LocalSteps,
		LocalEpochs: j.spec.Train.LocalEpochs, BatchSize: j.spec.Train.BatchSize,
		LearningRate: j.spec.Train.LearningRate, Params: j.spec.Train.Params,
		Seed: j.spec.Seed*1_000_003 + int64(r.num)*1009 + int64(idx)}
	j.strategy.ConfigureTrain(&s)
	return s
}

// cancelPending tells every site whose collection task is still pending
// to stop it.
func (e *Engine) cancelPending(r *round) {
	for _, site := range r.cohort {
		t := r.tasks[site]
		if t != nil && t.status == taskPending {
			t.status, t.reason = taskDropped, "round closed"
			c := t.Task
			c.Cancel = true
			e.emit(SendTask{Task: c})
		}
	}
}

// PendingTasks returns the tasks site still owes, for redelivery when its
// task stream reconnects.
func (e *Engine) PendingTasks(site string) []Task {
	j := e.active
	if j == nil || j.round == nil {
		return nil
	}
	r := j.round
	if r.sec != nil && isSecurePhase(r.phase) {
		if t, ok := r.phaseTasks[site]; ok {
			return []Task{t}
		}
		return nil
	}
	if t, ok := r.tasks[site]; ok && t.status == taskPending && r.phase != PhaseCommit {
		return []Task{t.Task}
	}
	return nil
}
