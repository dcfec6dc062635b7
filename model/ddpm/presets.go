package ddpm

// The 256-pixel presets (docs/scale.md gives their parameter counts and
// memory per image).

// StudyArch256 is the study's U-Net at 256x256x1: base width 128, channel
// multipliers [1,1,2,2,4,4], 2 residual blocks per level, self-attention
// with 4 heads at 32, 16 and 8 pixels and in the middle, GroupNorm(32) and
// a 512-wide time and condition embedding. It has about 10^8 parameters:
// a multi-GPU model, trained here only to check that it builds and steps.
func StudyArch256() Arch {
	return Arch{
		ImageSize: 256, InChannels: 1, BaseChannels: 128, ChannelMults: []int{1, 1, 2, 2, 4, 4},
		NumResBlocks: 2, AttnResolutions: []int{32, 16, 8}, MidAttention: true, AttnHeads: 4,
		Groups: 32, TimeEmbDim: 512,
	}
}

// GPU24Arch256 is a smaller 256-pixel U-Net sized for one 24-GB GPU at a
// batch of 8 or more: the study's topology at base width 64, attention (4
// heads) at 16 and 8 pixels and in the middle, GroupNorm(32), a 256-wide
// embedding; about a quarter of the study's parameters.
func GPU24Arch256() Arch {
	return Arch{
		ImageSize: 256, InChannels: 1, BaseChannels: 64, ChannelMults: []int{1, 1, 2, 2, 4, 4},
		NumResBlocks: 2, AttnResolutions: []int{16, 8}, MidAttention: true, AttnHeads: 4,
		Groups: 32, TimeEmbDim: 256,
	}
}

// Presets returns the named architectures: "ddpm-256-study" and
// "ddpm-256-gpu24".
func Presets() map[string]Arch {
	return map[string]Arch{"ddpm-256-study": StudyArch256(), "ddpm-256-gpu24": GPU24Arch256()}
}
