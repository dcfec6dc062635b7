package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A checkpoint is a safetensors file whose "__metadata__" holds:
//
//	format     "synthfed-checkpoint/1"
//	arch       the architecture name, for example "ddpm-unet/1"
//	config     the architecture config as JSON
//	step       the optimiser step count
//	ema_decay  the EMA decay (present when EMA tensors are)
//	ema_steps  the number of EMA updates applied
//
// plus any caller extras under "x." keys. The model weights are stored under
// their own names and the EMA weights under EMAPrefix + name.

// CheckpointFormat is the value of the "format" metadata key.
const CheckpointFormat = "synthfed-checkpoint/1"

// EMAPrefix prefixes the names of EMA tensors inside a checkpoint.
const EMAPrefix = "ema/"

// Sentinel errors of checkpoint decoding.
var (
	// ErrUnknownArch reports a checkpoint whose architecture is not registered.
	ErrUnknownArch = errors.New("unknown architecture")
	// ErrConfig reports an architecture config that does not parse or validate.
	ErrConfig = errors.New("invalid architecture config")
)

// Checkpoint is a saved model: weights, optional EMA weights and the
// architecture they belong to.
type Checkpoint struct {
	// Arch names the architecture, as registered with RegisterArch.
	Arch string
	// Config is the architecture config as JSON; RegisterArch's SpecsFunc
	// turns it into the expected tensor specs.
	Config json.RawMessage
	// Step is the number of optimiser steps taken.
	Step int64
	// Weights are the raw (trained) weights.
	Weights Weights
	// EMA are the exponential-moving-average weights; Len() == 0 when absent.
	EMA Weights
	// EMADecay and EMASteps describe the EMA state.
	EMADecay float64
	EMASteps int64
	// Extra holds free-form caller metadata (seeds, data hashes...).
	Extra map[string]string
}

// SpecsFunc returns the tensor specs an architecture config implies, or an
// error wrapping ErrConfig when the config is invalid.
type SpecsFunc func(config []byte) ([]TensorSpec, error)

var (
	archMu sync.RWMutex
	archs  = map[string]SpecsFunc{}
)

// RegisterArch makes an architecture known to DecodeCheckpoint. Engine
// packages call it from init; registering a name twice panics.
func RegisterArch(name string, specs SpecsFunc) {
	archMu.Lock()
	defer archMu.Unlock()
	if _, dup := archs[name]; dup {
		panic("model: architecture registered twice: " + name)
	}
	archs[name] = specs
}

// Archs lists the registered architecture names, sorted.
func Archs() []string {
	archMu.RLock()
	defer archMu.RUnlock()
	out := make([]string, 0, len(archs))
	for k := range archs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookupArch(name string) (SpecsFunc, bool) {
	archMu.RLock()
	defer archMu.RUnlock()
	f, ok := archs[name]
	return f, ok
}

// EncodeCheckpoint returns c as a safetensors file.
func EncodeCheckpoint(c Checkpoint) ([]byte, error) {
	if c.Arch == "" {
		return nil, fmt.Errorf("checkpoint: empty architecture name: %w", ErrUnknownArch)
	}
	meta := map[string]string{
		"format": CheckpointFormat,
		"arch":   c.Arch,
		"config": string(c.Config),
		"step":   strconv.FormatInt(c.Step, 10),
	}
	ts := append([]Tensor(nil), c.Weights.Tensors()...)
	for _, t := range ts {
		if strings.HasPrefix(t.Name, EMAPrefix) {
			return nil, fmt.Errorf("checkpoint: tensor %q: the prefix %q is reserved for EMA tensors: %w", t.Name, EMAPrefix, ErrFormat)
		}
	}
	if c.EMA.Len() > 0 {
		meta["ema_decay"] = strconv.FormatFloat(c.EMADecay, 'g', -1, 64)
		meta["ema_steps"] = strconv.FormatInt(c.EMASteps, 10)
		for _, t := range c.EMA.Tensors() {
			ts = append(ts, Tensor{Name: EMAPrefix + t.Name, Shape: t.Shape, Data: t.Data})
		}
	}
	for k, v := range c.Extra {
		meta["x."+k] = v
	}
	all, err := NewWeights(ts...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return EncodeSafetensors(all, meta)
}

// DecodeCheckpoint parses a checkpoint and checks it against its registered
// architecture: every expected tensor must be present with the expected
// shape, no other tensor may appear, and the EMA set, when present, must
// have the same specs. Errors name the offending tensor and wrap ErrFormat,
// ErrUnknownArch, ErrConfig, ErrShape or ErrMissing.
func DecodeCheckpoint(data []byte) (Checkpoint, error) {
	all, meta, err := DecodeSafetensors(data)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := checkpointMeta(meta)
	if err != nil {
		return Checkpoint{}, err
	}
	specsOf, ok := lookupArch(c.Arch)
	if !ok {
		return Checkpoint{}, fmt.Errorf("checkpoint: architecture %q (known: %s): %w", c.Arch, strings.Join(Archs(), ", "), ErrUnknownArch)
	}
	specs, err := specsOf(c.Config)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: architecture %q config: %w", c.Arch, err)
	}
	raw := all.Filter(func(n string) bool { return !strings.HasPrefix(n, EMAPrefix) })
	ema := renameEMA(all.Filter(func(n string) bool { return strings.HasPrefix(n, EMAPrefix) }))
	var errs []error
	if err := CheckSpecs(specs, raw); err != nil {
		errs = append(errs, err)
	}
	if ema.Len() > 0 {
		if err := CheckSpecs(specs, ema); err != nil {
			errs = append(errs, fmt.Errorf("EMA (stored under %q): %w", EMAPrefix, err))
		}
	}
	if len(errs) > 0 {
		return Checkpoint{}, fmt.Errorf("checkpoint: architecture %q: %w", c.Arch, errors.Join(errs...))
	}
	c.Weights, c.EMA = raw, ema
	return c, nil
}

// CheckSpecs reports every tensor of w that is missing from specs, absent
// from w, or of another shape, joined into one error naming each tensor. It
// allocates nothing per tensor, so specs of any claimed size are safe.
func CheckSpecs(specs []TensorSpec, w Weights) error {
	var errs []error
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Name] = true
		t, ok := w.Get(s.Name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("tensor %q: %w", s.Name, ErrMissing))
		case !sameShape(t.Shape, s.Shape):
			errs = append(errs, fmt.Errorf("tensor %q: shape %v, want %v: %w", s.Name, t.Shape, s.Shape, ErrShape))
		}
	}
	for _, t := range w.Tensors() {
		if !want[t.Name] {
			errs = append(errs, fmt.Errorf("tensor %q: unexpected: %w", t.Name, ErrMissing))
		}
	}
	return errors.Join(errs...)
}

func checkpointMeta(meta map[string]string) (Checkpoint, error) {
	if f := meta["format"]; f != CheckpointFormat {
		return Checkpoint{}, fmt.Errorf("checkpoint: metadata format %q, want %q: %w", f, CheckpointFormat, ErrFormat)
	}
	c := Checkpoint{Arch: meta["arch"], Config: json.RawMessage(meta["config"])}
	var errs []error
	var err error
	if c.Step, err = metaInt(meta, "step"); err != nil {
		errs = append(errs, err)
	}
	if c.EMASteps, err = metaInt(meta, "ema_steps"); err != nil {
		errs = append(errs, err)
	}
	if s, ok := meta["ema_decay"]; ok {
		if c.EMADecay, err = strconv.ParseFloat(s, 64); err != nil {
			errs = append(errs, fmt.Errorf("metadata \"ema_decay\" = %q: %w", s, ErrFormat))
		}
	}
	if len(c.Config) > 0 && !json.Valid(c.Config) {
		errs = append(errs, fmt.Errorf("metadata \"config\" is not JSON: %w", ErrConfig))
	}
	for k, v := range meta {
		if x, ok := strings.CutPrefix(k, "x."); ok {
			if c.Extra == nil {
				c.Extra = map[string]string{}
			}
			c.Extra[x] = v
		}
	}
	if len(errs) > 0 {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", errors.Join(errs...))
	}
	return c, nil
}

func renameEMA(w Weights) Weights {
	ts := make([]Tensor, 0, w.Len())
	for _, t := range w.Tensors() {
		ts = append(ts, Tensor{Name: strings.TrimPrefix(t.Name, EMAPrefix), Shape: t.Shape, Data: t.Data})
	}
	return MustWeights(ts...)
}

// WriteCheckpointFile writes c to path atomically: to a temporary file in
// the same folder, synced, then renamed over path.
func WriteCheckpointFile(path string, c Checkpoint) error {
	b, err := EncodeCheckpoint(c)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// ReadCheckpointFile reads and decodes the checkpoint at path; errors name
// the file as well as the tensor.
func ReadCheckpointFile(path string) (Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, err
	}
	c, err := DecodeCheckpoint(b)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
