package coordinator

import (
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/model"
)

// Task is one unit of work for one site, as the Engine hands it out. The
// server turns it into a protocol Task.
type Task struct {
	ID      string
	Site    string
	Job     string
	Round   int
	Attempt int
	// Nonce binds the upload to this task.
	Nonce []byte
	// Kind is protocol.KindInit or protocol.KindTrain.
	Kind string
	// Phase is the round phase the task belongs to.
	Phase string
	// Model names the trainer.
	Model string
	// ModelHash is the global model to start from (empty for init).
	ModelHash string
	// Deadline is when the phase closes.
	Deadline time.Time
	// Train is the local training (train tasks).
	Train model.TrainSpec
	// LocalOnly lists FedBN patterns (train tasks).
	LocalOnly []string
	// InitSeed seeds Trainer.Init (init tasks).
	InitSeed int64
	// Extension is the payload of an aggregator-defined phase task.
	Extension *anypb.Any
	// Cancel asks the site to stop the task with this ID.
	Cancel bool
}

// UploadMeta is what an upload claims about itself before its body.
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

// taskState is the Engine's record of a handed-out task.
type taskState struct {
	Task
	status taskStatus
	reason string
}
