package ddpm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
)

// ArchName is the architecture name written into checkpoints.
const ArchName = "ddpm-unet/1"

// Arch is the U-Net architecture: everything that decides the tensors.
type Arch struct {
	// ImageSize is the side of the square input; it must be divisible by
	// 2^(len(ChannelMults)-1).
	ImageSize int `toml:"image_size" json:"image_size"`
	// InChannels is 1 for grayscale.
	InChannels int `toml:"in_channels" json:"in_channels"`
	// BaseChannels is the width of the first level.
	BaseChannels int `toml:"base_channels" json:"base_channels"`
	// ChannelMults gives each level's width as a multiple of BaseChannels;
	// levels after the first start with a stride-2 downsampling.
	ChannelMults []int `toml:"channel_mults" json:"channel_mults"`
	// NumResBlocks is the number of residual blocks per level on the way
	// down (the way up has one more, as in the DDPM U-Net).
	NumResBlocks int `toml:"num_res_blocks" json:"num_res_blocks"`
	// AttnResolutions lists the feature-map sides that get a self-attention
	// block after each residual block.
	AttnResolutions []int `toml:"attn_resolutions" json:"attn_resolutions"`
	// MidAttention adds self-attention between the two middle blocks.
	MidAttention bool `toml:"mid_attention" json:"mid_attention"`
	// AttnHeads splits each self-attention block into this many heads
	// (the study's U-Net uses 4); 0 means 1. Heads add no parameters.
	AttnHeads int `toml:"attn_heads" json:"attn_heads,omitempty"`
	// Groups is the number of GroupNorm groups; it divides every width.
	Groups int `toml:"groups" json:"groups"`
	// TimeEmbDim is the width of the time and condition embedding
	// (BaseChannels*4 in the DDPM U-Net).
	TimeEmbDim int `toml:"time_emb_dim" json:"time_emb_dim"`
	// Sites, when not empty, adds a site (acquisition) condition to the
	// study's 22 numbers: a learned embedding per named site plus one for
	// "any site" (site.go). Empty keeps the study's condition.
	Sites []string `toml:"sites" json:"sites,omitempty"`
}

// TrainConfig holds the training hyper-parameters.
type TrainConfig struct {
	// Steps is the schedule length T (1000 in the study).
	Steps int `toml:"steps" json:"steps"`
	// CosineOffset is s of the cosine schedule (0.008).
	CosineOffset float64 `toml:"cosine_offset" json:"cosine_offset"`
	// ZeroTerminalSNR rescales the schedule so abar_T = 0.
	ZeroTerminalSNR bool `toml:"zero_terminal_snr" json:"zero_terminal_snr"`
	// CondDropProb is the probability of replacing the condition by the
	// learned null embedding in training (0.1).
	CondDropProb float64 `toml:"cond_drop_prob" json:"cond_drop_prob"`
	// BatchSize is the training batch size.
	BatchSize int `toml:"batch_size" json:"batch_size"`
	// Adam configures the optimiser.
	Adam optim.AdamConfig `toml:"adam" json:"adam"`
	// EMADecay is the decay of the EMA weights used for sampling.
	EMADecay float64 `toml:"ema_decay" json:"ema_decay"`
	// EMAWarmup ramps the EMA decay in from (1+n)/(10+n).
	EMAWarmup bool `toml:"ema_warmup" json:"ema_warmup"`
	// SiteDropProb is the probability of training an image with the "any
	// site" embedding instead of its site's, so that a site-conditioned
	// model can also draw the sites' mixture (used only with arch.sites).
	SiteDropProb float64 `toml:"site_drop_prob" json:"site_drop_prob,omitempty"`
	// EvalImages caps the validation images Evaluate scores (0: all).
	EvalImages int `toml:"eval_images" json:"eval_images"`
	// KeepMoments carries a site's AdamW moments from its round r-1 into
	// round r of a job (false: zero moments every round).
	KeepMoments bool `toml:"keep_moments" json:"keep_moments"`
}

// Config is the whole DDPM configuration, loaded from TOML tables [arch],
// [train] and [sample].
type Config struct {
	Arch   Arch         `toml:"arch" json:"arch"`
	Train  TrainConfig  `toml:"train" json:"train"`
	Sample SampleConfig `toml:"sample" json:"sample"`
}

// DefaultArch is the simulation default, sized for a 2-core CPU: 32x32x1,
// widths 16/32/32, two residual blocks per level, GroupNorm(8), a 64-wide
// embedding and no attention: 388,609 parameters.
func DefaultArch() Arch {
	return Arch{
		ImageSize: 32, InChannels: 1, BaseChannels: 16, ChannelMults: []int{1, 2, 2},
		NumResBlocks: 2, Groups: 8, TimeEmbDim: 64,
	}
}

// BenchArch is the benchmark's larger U-Net: 32x32x1, widths 32/64/64, two
// residual blocks per level, GroupNorm(8), a 128-wide time and condition
// embedding, no attention. In this architecture (DDPM U-Net topology: an
// extra up block per level and two middle blocks) that is 1,542,145
// parameters, not the 0.79M of the prototype that DESIGN.md timed.
func BenchArch() Arch {
	return Arch{
		ImageSize: 32, InChannels: 1, BaseChannels: 32, ChannelMults: []int{1, 2, 2},
		NumResBlocks: 2, Groups: 8, TimeEmbDim: 128,
	}
}

// DefaultConfig returns the defaults, sized to train on a 2-core CPU.
func DefaultConfig() Config {
	adam := optim.DefaultAdamConfig()
	adam.LR = 2e-4
	adam.WarmupSteps = 100
	return Config{
		Arch: DefaultArch(),
		Train: TrainConfig{
			Steps: 1000, CosineOffset: 0.008, ZeroTerminalSNR: true, CondDropProb: 0.1,
			BatchSize: 32, Adam: adam, EMADecay: 0.999, EMAWarmup: true, EvalImages: 256,
		},
		Sample: DefaultSampleConfig(),
	}
}

// Validate reports every invalid field of the architecture.
func (a Arch) Validate() error {
	var p config.Problems
	if a.InChannels < 1 {
		p.Addf("arch.in_channels %d: want >= 1", a.InChannels)
	}
	if a.BaseChannels < 1 {
		p.Addf("arch.base_channels %d: want >= 1", a.BaseChannels)
	}
	if len(a.ChannelMults) == 0 {
		p.Addf("arch.channel_mults is empty")
	}
	if a.NumResBlocks < 1 {
		p.Addf("arch.num_res_blocks %d: want >= 1", a.NumResBlocks)
	}
	if a.TimeEmbDim < 2 || a.TimeEmbDim%2 != 0 {
		p.Addf("arch.time_emb_dim %d: want an even number >= 2", a.TimeEmbDim)
	}
	if a.BaseChannels%2 != 0 {
		p.Addf("arch.base_channels %d: want even (it is the sinusoid width)", a.BaseChannels)
	}
	if a.Groups < 1 {
		p.Addf("arch.groups %d: want >= 1", a.Groups)
	}
	for i, m := range a.ChannelMults {
		if m < 1 {
			p.Addf("arch.channel_mults[%d] = %d: want >= 1", i, m)
		} else if a.Groups >= 1 && (a.BaseChannels*m)%a.Groups != 0 {
			p.Addf("arch.groups %d does not divide level %d width %d", a.Groups, i, a.BaseChannels*m)
		}
	}
	p.Add(a.bounds())
	div := 1 << max(len(a.ChannelMults)-1, 0)
	if a.ImageSize < div || a.ImageSize%div != 0 {
		p.Addf("arch.image_size %d: want a positive multiple of %d for %d levels", a.ImageSize, div, len(a.ChannelMults))
	}
	p.Add(a.validateSites())
	if a.AttnHeads < 0 || a.AttnHeads > maxWidth {
		p.Addf("arch.attn_heads %d: want 0 to %d", a.AttnHeads, maxWidth)
	}
	for l, m := range a.ChannelMults {
		if h := a.heads(); (a.attnAt(l) || (a.MidAttention && l == len(a.ChannelMults)-1)) && (a.BaseChannels*m)%h != 0 {
			p.Addf("arch.attn_heads %d does not divide level %d width %d", h, l, a.BaseChannels*m)
		}
	}
	for i, r := range a.AttnResolutions {
		if !slices.Contains(a.resolutions(), r) {
			p.Addf("arch.attn_resolutions[%d] = %d: not a level resolution %v", i, r, a.resolutions())
		}
	}
	return p.Err()
}

// Limits on architecture sizes, so that a config read from a checkpoint
// cannot ask for an absurd graph.
const (
	maxWidth  = 4096
	maxLevels = 8
	maxBlocks = 16
	maxSide   = 4096
)

// bounds reports sizes beyond the limits.
func (a Arch) bounds() error {
	var p config.Problems
	if a.ImageSize > maxSide {
		p.Addf("arch.image_size %d: want <= %d", a.ImageSize, maxSide)
	}
	if a.InChannels > maxWidth || a.TimeEmbDim > maxWidth {
		p.Addf("arch.in_channels %d / arch.time_emb_dim %d: want <= %d", a.InChannels, a.TimeEmbDim, maxWidth)
	}
	if len(a.ChannelMults) > maxLevels || a.NumResBlocks > maxBlocks || len(a.AttnResolutions) > maxLevels {
		p.Addf("arch: %d levels, %d blocks, %d attention resolutions: want <= %d, %d, %d", len(a.ChannelMults), a.NumResBlocks, len(a.AttnResolutions), maxLevels, maxBlocks, maxLevels)
	}
	for i, m := range a.ChannelMults {
		if a.BaseChannels > maxWidth || m > maxWidth || a.BaseChannels*m > maxWidth {
			p.Addf("arch.channel_mults[%d]: width %d*%d exceeds %d", i, a.BaseChannels, m, maxWidth)
		}
	}
	return p.Err()
}

// resolutions lists each level's feature-map side.
func (a Arch) resolutions() []int {
	out := make([]int, len(a.ChannelMults))
	for i := range out {
		out[i] = a.ImageSize >> i
	}
	return out
}

// Validate reports every invalid field of the whole configuration.
func (c Config) Validate() error {
	var p config.Problems
	p.Add(c.Arch.Validate())
	t := c.Train
	if t.Steps < 2 {
		p.Addf("train.steps %d: want >= 2", t.Steps)
	}
	if !(t.CosineOffset > 0 && t.CosineOffset < 1) {
		p.Addf("train.cosine_offset %v: want in (0,1)", t.CosineOffset)
	}
	if !(t.CondDropProb >= 0 && t.CondDropProb <= 1) {
		p.Addf("train.cond_drop_prob %v: want in [0,1]", t.CondDropProb)
	}
	if !(t.SiteDropProb >= 0 && t.SiteDropProb < 1) {
		p.Addf("train.site_drop_prob %v: want in [0,1)", t.SiteDropProb)
	}
	if t.BatchSize < 1 {
		p.Addf("train.batch_size %d: want >= 1", t.BatchSize)
	}
	if !(t.EMADecay >= 0 && t.EMADecay < 1) {
		p.Addf("train.ema_decay %v: want in [0,1)", t.EMADecay)
	}
	if t.EvalImages < 0 {
		p.Addf("train.eval_images %d: want >= 0", t.EvalImages)
	}
	p.Add(t.Adam.Validate())
	p.Add(c.Sample.Validate())
	if c.Sample.Steps > t.Steps {
		p.Addf("sample.steps %d exceeds train.steps %d", c.Sample.Steps, t.Steps)
	}
	return p.Err()
}

// ArchJSON returns the architecture as the JSON stored in checkpoints.
func (a Arch) ArchJSON() json.RawMessage {
	b, _ := json.Marshal(a) // plain ints, slices and bools always marshal
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

// ErrNoData reports a trainer given no training images.
var ErrNoData = errors.New("ddpm: no images")

// ArchOf returns the architecture of a checkpoint written by this package,
// refusing one of another architecture with model.ErrUnknownArch.
func ArchOf(c model.Checkpoint) (Arch, error) {
	if c.Arch != ArchName {
		return Arch{}, fmt.Errorf("checkpoint architecture %q, want %q: %w", c.Arch, ArchName, model.ErrUnknownArch)
	}
	return ParseArch(c.Config)
}
