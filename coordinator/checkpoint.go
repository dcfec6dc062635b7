package coordinator

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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

// Write stores w with meta and returns the file name (content hash +
// ext). The file is streamed to a temporary file while it is hashed, so a
// study-size model is not held twice in memory.
func (c *Checkpoints) Write(w model.Weights, meta map[string]string) (string, error) {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	err = model.WriteSafetensors(bw, w, meta)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", tmp, err)
	}
	name := hex.EncodeToString(h.Sum(nil)) + CheckpointExt
	path := filepath.Join(c.dir, name)
	if _, err := os.Stat(path); err == nil {
		return name, nil // same content already there
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return name, syncDir(c.dir)
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

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
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
