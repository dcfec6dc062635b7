package coordinator

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketJobs   = []byte("jobs")
	bucketRounds = []byte("rounds")
	bucketAudit  = []byte("audit")
)

// JobRecord is a job's durable state: its spec and last committed round.
type JobRecord struct {
	Spec  JobSpec  `json:"spec"`
	State JobState `json:"state"`
	// Committed is the last durable round (-1: none yet; 0: initial model).
	Committed int `json:"committed"`
	// GlobalHash is the model hash of round Committed.
	GlobalHash string `json:"global_hash"`
	// Checkpoint and StrategyCheckpoint name the files of round Committed.
	Checkpoint         string `json:"checkpoint"`
	StrategyCheckpoint string `json:"strategy_checkpoint,omitempty"`
	// EMAHash and EMACheckpoint are the server EMA of round Committed
	// (empty when the job keeps none).
	EMAHash       string `json:"ema_hash,omitempty"`
	EMACheckpoint string `json:"ema_checkpoint,omitempty"`
	Err           string `json:"error,omitempty"`
}

// RoundRecord is one committed round.
type RoundRecord struct {
	Summary            RoundSummary `json:"summary"`
	Checkpoint         string       `json:"checkpoint"`
	StrategyCheckpoint string       `json:"strategy_checkpoint,omitempty"`
	// EMACheckpoint holds the server EMA after the round (Summary.EMAHash).
	EMACheckpoint string `json:"ema_checkpoint,omitempty"`
}

// Store is the coordinator's crash-safe state in one bbolt file: jobs,
// committed rounds and the audit log.
type Store struct{ db *bolt.DB }

// OpenStore opens (or creates) the store at path. It fails after timeout
// if another process holds the file.
func OpenStore(path string, timeout time.Duration) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketRounds, bucketAudit} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// PutJob writes a job record.
func (s *Store) PutJob(rec JobRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketJobs), []byte(rec.Spec.ID), rec) })
}

// CommitRound writes a round record and its job's new state in one
// transaction: after a crash either both or neither are there.
func (s *Store) CommitRound(rec JobRecord, round RoundRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketRounds), roundKey(rec.Spec.ID, round.Summary.Round), round); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketJobs), []byte(rec.Spec.ID), rec)
	})
}

// Jobs returns every job record, ordered by ID.
func (s *Store) Jobs() ([]JobRecord, error) {
	var out []JobRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var rec JobRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("job %q: %w", k, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// Job returns one job record.
func (s *Store) Job(id string) (JobRecord, bool, error) {
	var rec JobRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	return rec, found, err
}

// Rounds returns the committed rounds of a job in order.
func (s *Store) Rounds(jobID string) ([]RoundRecord, error) {
	var out []RoundRecord
	prefix := []byte(jobID + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRounds).Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			var rec RoundRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// Append adds entries to the audit log.
func (s *Store) Append(entries ...AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		for _, e := range entries {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], seq)
			if err := putJSON(b, k[:], e); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditLog returns every audit entry in order.
func (s *Store) AuditLog() ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if b == nil {
		return errors.New("store: missing bucket")
	}
	return b.Put(key, data)
}

// roundKey orders a job's rounds numerically.
func roundKey(jobID string, round int) []byte {
	k := append([]byte(jobID), 0)
	return binary.BigEndian.AppendUint64(k, uint64(round))
}
