package classifier

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
)

// ArchName is the architecture name written into checkpoints.
const ArchName = "cxr-resnet/1"

// Arch is the network architecture: everything that decides the tensors.
type Arch struct {
	// ImageSize is the side of the square input.
	ImageSize int `toml:"image_size" json:"image_size"`
	// InChannels is 1 for grayscale.
	InChannels int `toml:"in_channels" json:"in_channels"`
	// Widths lists each stage's channels; every stage after the first
	// starts with a stride-2 block.
	Widths []int `toml:"widths" json:"widths"`
	// BlocksPerStage is the number of residual blocks per stage.
	BlocksPerStage int `toml:"blocks_per_stage" json:"blocks_per_stage"`
	// Groups is the number of GroupNorm groups; it divides every width.
	Groups int `toml:"groups" json:"groups"`
}

// TrainConfig holds the training hyper-parameters.
type TrainConfig struct {
	// BatchSize is the training batch size.
	BatchSize int `toml:"batch_size" json:"batch_size"`
	// Adam configures the optimiser.
	Adam optim.AdamConfig `toml:"adam" json:"adam"`
	// EMADecay is the decay of the EMA weights used for evaluation.
	EMADecay float64 `toml:"ema_decay" json:"ema_decay"`
	// EMAWarmup ramps the EMA decay in from (1+n)/(10+n).
	EMAWarmup bool `toml:"ema_warmup" json:"ema_warmup"`
	// Labels is the policy for uncertain and blank labels.
	Labels LabelPolicy `toml:"labels" json:"labels"`
	// Augment is the training-time augmentation.
	Augment AugmentConfig `toml:"augment" json:"augment"`
	// MaxSteps bounds Fit's optimiser steps.
	MaxSteps int `toml:"max_steps" json:"max_steps"`
	// EvalEvery is the number of steps between Fit's validation checks.
	EvalEvery int `toml:"eval_every" json:"eval_every"`
	// Patience is the number of checks without improvement before Fit
	// stops (0: never stop early).
	Patience int `toml:"patience" json:"patience"`
	// MinDelta is the smallest validation-loss decrease that counts.
	MinDelta float64 `toml:"min_delta" json:"min_delta"`
	// RealFraction, when in (0, 1], fixes the share of real images in each
	// batch of a set that mixes real and synthetic images; 0 draws batches
	// from the pooled set.
	RealFraction float64 `toml:"real_fraction" json:"real_fraction"`
	// SyntheticWeight multiplies the loss of synthetic images (1: same as real).
	SyntheticWeight float64 `toml:"synthetic_weight" json:"synthetic_weight"`
	// KeepMoments carries a site's AdamW moments from its round r-1 into
	// round r of a job (false: zero moments every round). Fit, one
	// continuous run, always keeps them.
	KeepMoments bool `toml:"keep_moments" json:"keep_moments"`
}

// Config is the whole classifier configuration, loaded from TOML tables
// [arch] and [train].
type Config struct {
	Arch  Arch        `toml:"arch" json:"arch"`
	Train TrainConfig `toml:"train" json:"train"`
}

// DefaultArch is a 32x32x1 ResNet with stages of 16, 32 and 64 channels,
// one block each, GroupNorm(8).
func DefaultArch() Arch {
	return Arch{ImageSize: 32, InChannels: 1, Widths: []int{16, 32, 64}, BlocksPerStage: 1, Groups: 8}
}

// DefaultConfig returns the defaults, sized to train on a 2-core CPU.
func DefaultConfig() Config {
	adam := optim.DefaultAdamConfig()
	adam.LR = 1e-3
	adam.WeightDecay = 1e-4
	return Config{
		Arch: DefaultArch(),
		Train: TrainConfig{
			BatchSize: 32, Adam: adam, EMADecay: 0.99, EMAWarmup: true,
			Labels: DefaultLabelPolicy(), Augment: DefaultAugmentConfig(),
			MaxSteps: 2000, EvalEvery: 100, Patience: 5, MinDelta: 1e-4,
			SyntheticWeight: 1,
		},
	}
}

// Limits on architecture sizes, so that a config read from a checkpoint
// cannot ask for an absurd graph.
const (
	maxWidth  = 4096
	maxStages = 8
	maxBlocks = 16
	maxSide   = 4096
)

// Validate reports every invalid field of the architecture.
func (a Arch) Validate() error {
	var p config.Problems
	if a.InChannels < 1 {
		p.Addf("arch.in_channels %d: want >= 1", a.InChannels)
	}
	if len(a.Widths) == 0 {
		p.Addf("arch.widths is empty")
	}
	if a.BlocksPerStage < 1 {
		p.Addf("arch.blocks_per_stage %d: want >= 1", a.BlocksPerStage)
	}
	if a.Groups < 1 {
		p.Addf("arch.groups %d: want >= 1", a.Groups)
	}
	for i, w := range a.Widths {
		if w < 1 {
			p.Addf("arch.widths[%d] = %d: want >= 1", i, w)
		} else if a.Groups >= 1 && w%a.Groups != 0 {
			p.Addf("arch.groups %d does not divide arch.widths[%d] = %d", a.Groups, i, w)
		}
	}
	if a.ImageSize > maxSide || a.InChannels > maxWidth || len(a.Widths) > maxStages || a.BlocksPerStage > maxBlocks {
		p.Addf("arch: image_size %d, in_channels %d, %d stages, %d blocks per stage: want <= %d, %d, %d, %d",
			a.ImageSize, a.InChannels, len(a.Widths), a.BlocksPerStage, maxSide, maxWidth, maxStages, maxBlocks)
	}
	for i, w := range a.Widths {
		if w > maxWidth {
			p.Addf("arch.widths[%d] = %d: want <= %d", i, w, maxWidth)
		}
	}
	div := 1 << max(len(a.Widths)-1, 0)
	if a.ImageSize < div || a.ImageSize%div != 0 {
		p.Addf("arch.image_size %d: want a positive multiple of %d for %d stages", a.ImageSize, div, len(a.Widths))
	}
	return p.Err()
}

// Validate reports every invalid field of the whole configuration.
func (c Config) Validate() error {
	var p config.Problems
	p.Add(c.Arch.Validate())
	t := c.Train
	if t.BatchSize < 1 {
		p.Addf("train.batch_size %d: want >= 1", t.BatchSize)
	}
	if !(t.EMADecay >= 0 && t.EMADecay < 1) {
		p.Addf("train.ema_decay %v: want in [0,1)", t.EMADecay)
	}
	if t.MaxSteps < 1 {
		p.Addf("train.max_steps %d: want >= 1", t.MaxSteps)
	}
	if t.EvalEvery < 1 {
		p.Addf("train.eval_every %d: want >= 1", t.EvalEvery)
	}
	if t.Patience < 0 {
		p.Addf("train.patience %d: want >= 0", t.Patience)
	}
	if !(t.RealFraction >= 0 && t.RealFraction <= 1) {
		p.Addf("train.real_fraction %v: want in [0,1]", t.RealFraction)
	}
	if !(t.SyntheticWeight >= 0) {
		p.Addf("train.synthetic_weight %v: want >= 0", t.SyntheticWeight)
	}
	p.Add(t.Adam.Validate())
	p.Add(t.Labels.Validate())
	p.Add(t.Augment.Validate())
	return p.Err()
}

// ArchJSON returns the architecture as the JSON stored in checkpoints.
func (a Arch) ArchJSON() json.RawMessage {
	b, _ := json.Marshal(a) // plain ints and slices always marshal
	return b
}

// ParseArch decodes and validates an architecture from checkpoint JSON.
func ParseArch(data []byte) (Arch, error) {
	var a Arch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Arch{}, fmt.Errorf("%s config: %v: %w", ArchName, err, model.ErrConfig)
	}
	if err := a.Validate(); err != nil {
		return Arch{}, fmt.Errorf("%s config: %w: %w", ArchName, err, model.ErrConfig)
	}
	return a, nil
}

// ArchOf returns the architecture of a checkpoint written by this package,
// refusing one of another architecture with model.ErrUnknownArch.
func ArchOf(c model.Checkpoint) (Arch, error) {
	if c.Arch != ArchName {
		return Arch{}, fmt.Errorf("checkpoint architecture %q, want %q: %w", c.Arch, ArchName, model.ErrUnknownArch)
	}
	return ParseArch(c.Config)
}
