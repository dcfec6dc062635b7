package coordinator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// CheckpointExt is the extension of checkpoint files.
const CheckpointExt = ".safetensors"

// Checkpoints is a directory of content-addressed safetensors files: each
// is named by the SHA-256 of its bytes, written to a temporary file, synced
// and renamed into place, so a crash leaves either the whole file or none.
type Checkpoints struct{ dir string }

// OpenCheckpoints creates dir if needed.
func OpenCheckpoints(dir string) (*Checkpoints, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoints %s: %w", dir, err)
	}
	return &Checkpoints{dir: dir}, nil
}

// Dir returns the directory.
func (c *Checkpoints) Dir() string { return c.dir }

// Write stores w with meta and returns the file name (content hash + ext).
func (c *Checkpoints) Write(w model.Weights, meta map[string]string) (string, error) {
	data, err := model.EncodeSafetensors(w, meta)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:]) + CheckpointExt
	path := filepath.Join(c.dir, name)
	if _, err := os.Stat(path); err == nil {
		return name, nil // same content already there
	}
	if err := writeAtomic(path, data); err != nil {
		return "", err
	}
	return name, nil
}

// Read loads the checkpoint called name, checking its content hash.
func (c *Checkpoints) Read(name string) (model.Weights, map[string]string, error) {
	if filepath.Base(name) != name || !strings.HasSuffix(name, CheckpointExt) {
		return model.Weights{}, nil, fmt.Errorf("checkpoint %q: not a checkpoint name: %w", name, ErrCheckpoint)
	}
	data, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return model.Weights{}, nil, fmt.Errorf("checkpoint %s: %w: %w", name, ErrCheckpoint, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:])+CheckpointExt != name {
		return model.Weights{}, nil, fmt.Errorf("checkpoint %s: content hash differs: %w", name, ErrCheckpoint)
	}
	w, meta, err := model.DecodeSafetensors(data)
	if err != nil {
		return model.Weights{}, nil, fmt.Errorf("checkpoint %s: %w: %w", name, ErrCheckpoint, err)
	}
	return w, meta, nil
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// LoadInitial reads an initial model from a safetensors file (a plain one
// or a model.Checkpoint, whose EMA tensors are dropped).
func LoadInitial(path string) (model.Weights, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return model.Weights{}, fmt.Errorf("initial model: %w", err)
	}
	w, meta, err := model.DecodeSafetensors(data)
	if err != nil {
		return model.Weights{}, fmt.Errorf("initial model %s: %w", path, err)
	}
	if meta["format"] == model.CheckpointFormat {
		w = w.Filter(func(n string) bool { return !strings.HasPrefix(n, model.EMAPrefix) })
	}
	return w, nil
}
