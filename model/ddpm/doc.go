// Package ddpm is the study's conditional denoising diffusion model: a U-Net
// built on gorgonia with the fast ops of model/nn, a cosine noise schedule
// with zero terminal SNR, v-prediction with an MSE loss, classifier-free
// guidance through a learned null condition, EMA weights, DDPM and DDIM
// samplers, and a model.Trainer for the site agent.
//
// The schedule and sampler maths (schedule.go, sampler.go, guidance.go) are
// engine-free and tested against hand-computed values; the network
// (unet.go) and the trainer only run the graph.
package ddpm
