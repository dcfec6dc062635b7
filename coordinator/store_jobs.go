package coordinator

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketModels  = []byte("models")
	bucketResults = []byte("results")
)

// ModelRecord indexes a stored model by its content hash (the hash of its
// weights, model.Weights.Hash): the checkpoint file that holds it and the
// job and round that first produced it.
type ModelRecord struct {
	Hash  string `json:"hash"`
	File  string `json:"file"`
	Job   string `json:"job"`
	Round int    `json:"round"`
}

// ResultRecord is the outcome of a sample or evaluate job: its output hash
// and each site's aggregate result.
type ResultRecord struct {
	Job     string                     `json:"job"`
	Round   int                        `json:"round"`
	Output  string                     `json:"output"`
	Results map[string]json.RawMessage `json:"results"`
}

// PutModel indexes a model unless its hash is already indexed: the first
// job that produced a model stays its producer.
func (s *Store) PutModel(rec ModelRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketModels)
		if err != nil {
			return err
		}
		if b.Get([]byte(rec.Hash)) != nil {
			return nil
		}
		return putJSON(b, []byte(rec.Hash), rec)
	})
}

// Model finds the stored model with content hash h: in the index, else in
// the committed rounds (for stores written before the index existed).
func (s *Store) Model(h string) (ModelRecord, bool, error) {
	var rec ModelRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketModels); b != nil {
			if v := b.Get([]byte(h)); v != nil {
				found = true
				return json.Unmarshal(v, &rec)
			}
		}
		return tx.Bucket(bucketRounds).ForEach(func(_, v []byte) error {
			if found {
				return nil
			}
			var rr RoundRecord
			if err := json.Unmarshal(v, &rr); err != nil {
				return err
			}
			if rr.Summary.GlobalHash == h && rr.Checkpoint != "" {
				rec, found = ModelRecord{Hash: h, File: rr.Checkpoint, Job: rr.Summary.Job, Round: rr.Summary.Round}, true
			} else if rr.Summary.EMAHash == h && rr.EMACheckpoint != "" {
				rec, found = ModelRecord{Hash: h, File: rr.EMACheckpoint, Job: rr.Summary.Job, Round: rr.Summary.Round}, true
			}
			return nil
		})
	})
	if err != nil {
		return rec, false, fmt.Errorf("store: model %.12s: %w", h, err)
	}
	return rec, found, nil
}

// CommitResults writes a sample or evaluate job's results and its job
// record in one transaction.
func (s *Store) CommitResults(job JobRecord, res ResultRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketResults)
		if err != nil {
			return err
		}
		if err := putJSON(b, []byte(res.Job), res); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketJobs), []byte(job.Spec.ID), job)
	})
}

// Results returns a sample or evaluate job's results.
func (s *Store) Results(jobID string) (ResultRecord, bool, error) {
	var rec ResultRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResults)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(jobID))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	return rec, found, err
}
