// Package localtrain is what the built-in trainers (model/ddpm,
// model/classifier) share to run a federated job's rounds at a site: the
// plan of one round's local training (LocalRound: steps, batch size,
// learning rate, the step loop and its result) and the state a site keeps
// from round to round (Rounds: the training stepper, rebuilt only when the
// batch size changes, the local EMA, the optimiser moments when kept, the
// step count and the checkpoint).
package localtrain
