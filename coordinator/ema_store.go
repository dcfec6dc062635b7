package coordinator

import (
	"errors"
	"fmt"
	"github.com/synthfed/synthfed/coordinator/engine"
	"strconv"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// writeEMA stores a round's server EMA as a checkpoint and returns its file
// name: the global model's file when the two are equal (round 1), "" when
// the round has no EMA.
func (c *Coordinator) writeEMA(ef engine.CommitRound, globalFile string) (string, error) {
	switch {
	case ef.EMA.Len() == 0:
		return "", nil
	case ef.EMAHash == ef.Hash:
		return globalFile, nil
	}
	meta := map[string]string{"job": ef.Job, "round": strconv.Itoa(ef.Round), "hash": ef.EMAHash, "output": OutputEMA}
	return c.ckpts.Write(ef.EMA, meta)
}

// indexEMA records a round's server EMA in the model index, so that it can
// be referenced and downloaded by hash.
func (c *Coordinator) indexEMA(ef engine.CommitRound, file string) {
	if file == "" {
		return
	}
	if err := c.store.PutModel(ModelRecord{Hash: ef.EMAHash, File: file, Job: ef.Job, Round: ef.Round}); err != nil {
		c.log.Error("index EMA model", "job", ef.Job, "round", ef.Round, "hash", ef.EMAHash, "err", err)
	}
}

// readEMA loads the server EMA a stored job record names, checking its
// hash (empty weights when the record names none).
func (c *Coordinator) readEMA(rec JobRecord) (model.Weights, error) {
	if rec.EMACheckpoint == "" {
		return model.Weights{}, nil
	}
	w, _, err := c.ckpts.Read(rec.EMACheckpoint)
	if err != nil {
		return model.Weights{}, err
	}
	if h := w.Hash(); h != rec.EMAHash {
		return model.Weights{}, fmt.Errorf("EMA checkpoint hash %s, store says %s: %w", h, rec.EMAHash, ErrCheckpoint)
	}
	return w, nil
}

// EMA returns the server EMA of a train job's last committed round.
func (c *Coordinator) EMA(jobID string) (model.Weights, error) {
	rec, found, err := c.store.Job(jobID)
	if err != nil || !found || rec.EMACheckpoint == "" {
		return model.Weights{}, errors.Join(err, fmt.Errorf("job %s has no server EMA: %w", jobID, protocol.ErrNotFound))
	}
	return c.readEMA(rec)
}
