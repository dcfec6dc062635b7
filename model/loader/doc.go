// Package loader is how trainers read training batches: a Loader yields
// Batch values in step order, each holding its images already augmented.
//
// Two loaders stand behind the interface:
//
//   - Stream reads a Source of any size (a prepared on-disk store, see
//     dataset/store) with background workers and a bounded number of batch
//     buffers, so memory does not depend on the data set's size and
//     augmentation runs off the training goroutine. Batch s is a
//     deterministic function of (Config.Seed, Config.Salt, s): which images
//     (a fresh permutation per epoch) and every augmentation draw, however
//     many workers assemble it.
//   - the in-memory loaders of the trainers (model.ImageSet, for tests,
//     the phantom and the quick profiles), which keep their historical
//     draw order so that simulation results are unchanged.
//
// Augmentation is an Augmenter the trainer passes in. Affine (affine.go)
// is the streams' fast one: a fixed-point bilinear warp fused with the
// dequantisation of a ByteSource's 8-bit pixels, and table noise; with the
// openblas tag its inner loops run in C with AVX2 (warp.c), the Go code
// being the reference. A CondSource's batches carry condition vectors (the
// DDPM's); Concat joins two sources (real and synthetic).
//
// The package imports no tensor engine.
package loader
