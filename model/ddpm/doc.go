// Package ddpm is the study's conditional denoising diffusion model: a U-Net
// built on gorgonia with the fast ops of model/nn, a cosine noise schedule
// with zero terminal SNR, v-prediction with an MSE loss, classifier-free
// guidance through a learned null condition (dropped 10% of the time in
// training), EMA weights, DDPM and DDIM samplers, and a model.Trainer for
// the site agent.
//
// The parts:
//   - schedule.go, sampler.go, guidance.go: the engine-free maths (schedule,
//     v/x0/eps identities, DDIM and ancestral steps, guidance in the study's
//     convention guided = cond + w*(cond - uncond)), tested against
//     hand-computed values and exact denoisers;
//   - unet.go: the network (its comment is the reference for PyTorch
//     re-implementations) and the "ddpm-unet/1" checkpoint architecture;
//   - Stepper (step.go): one compiled training graph, Step(x, conds) per
//     optimiser step, for trainers and benchmarks;
//   - Trainer (trainer.go): model.Trainer with FedProx and local-only layers;
//   - Sampler / Sample / SampleLike (sample.go): one seed per image, so an
//     image does not depend on the batch it is drawn in.
package ddpm
