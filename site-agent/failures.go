package siteagent

import (
	"context"
	"errors"
	"time"
)

// StageError is a task failure with the stage it happened in ("data",
// "download", "build", "init", "train", "sample", "evaluate", ...). The
// stage and the error's text are what the site reports to the coordinator,
// which keeps them in the job's failure log.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StageError) Unwrap() error { return e.Err }

// stageErr wraps err with stage unless it already names one.
func stageErr(stage string, err error) error {
	if err == nil {
		return nil
	}
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: stage, Err: err}
}

// stageOf returns the stage an error names, or "task".
func stageOf(err error) string {
	var se *StageError
	if errors.As(err, &se) {
		return se.Stage
	}
	return "task"
}

// reportTimeout bounds a failure report, which must not hold the executor.
const reportTimeout = 10 * time.Second

// reportFailure tells the coordinator that t failed, where and why, so that
// the round stops waiting for this site and the job's failure log says what
// happened. Cancellations are not failures; a failed upload is not
// reported either (the coordinator already knows a refusal, and a report
// would not pass where the upload did not).
func (x *executor) reportFailure(t Task, err error) {
	jt, ok := x.tr.(jobTransport)
	if st := stageOf(err); !ok || errors.Is(err, context.Canceled) || st == "upload" || st == "report" {
		return
	}
	msg := err.Error()
	var se *StageError
	if errors.As(err, &se) {
		msg = se.Err.Error()
	}
	if len(msg) > 4000 {
		msg = msg[:4000] + "..."
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	rep := reportOf(t)
	rep.Failed, rep.Stage, rep.Error = true, stageOf(err), msg
	if rerr := jt.reportTask(ctx, rep); rerr != nil {
		x.log.Warn("failure report not delivered", "task", t.ID, "err", rerr)
	}
}
