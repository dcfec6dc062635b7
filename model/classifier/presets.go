package classifier

// Arch256 is the 256-pixel classifier: a ResNet of five stages (32, 64,
// 128, 256, 512 channels; each after the first starts with a stride-2
// block), 2 residual blocks per stage, GroupNorm(8). The study used a
// ConvNeXt-B (88M parameters); this is the project's architecture family
// at the study's resolution (docs/scale.md gives its size).
func Arch256() Arch {
	return Arch{ImageSize: 256, InChannels: 1, Widths: []int{32, 64, 128, 256, 512}, BlocksPerStage: 2, Groups: 8}
}
