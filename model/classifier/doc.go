// Package classifier is the multi-label pathology classifier: a small
// pre-activation ResNet (GroupNorm + SiLU) on gorgonia with the fast ops of
// model/nn, 14 sigmoid outputs trained with a BCE masked by a configurable
// policy for uncertain and blank labels, training-time augmentation (flips,
// small affine, noise), EMA weights and early stopping on validation loss.
//
// Predict returns per-label probabilities and the penultimate (pooled)
// features that eval uses. Fit trains a model on one data set (the study's
// setting); Trainer implements model.Trainer for federated rounds, with the
// FedProx proximal term and local-only (FedBN) norm layers. Training can mix
// real and synthetic images with a fixed real share per batch and a loss
// weight on synthetic images.
package classifier
