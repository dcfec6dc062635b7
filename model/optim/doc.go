// Package optim holds the engine-free parts of training: AdamW over plain
// float32 slices, an exponential moving average of weights, the FedProx
// proximal term, learning-rate schedules and early stopping. Keeping them
// out of gorgonia makes every update sequential and bit-reproducible, and
// lets the DDPM and classifier trainers share them.
package optim
