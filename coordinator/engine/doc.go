// Package engine is the coordinator's pure state machine, in the style of
// etcd-io/raft's RawNode: sites, jobs, rounds and tasks, plain and secure
// aggregation, server strategies and the server EMA. It does no I/O, reads
// no clock, logs nothing and starts no goroutine, and it links no wire,
// logging or networking package (TestPureDependencies checks go list
// -deps).
//
// A driver (package coordinator) owns one Engine on one goroutine:
//
//	e := engine.New(engine.Config{Rand: rand.Reader, Secure: ...})
//	err := e.Step(now, engine.UploadReceived{...}) // every input is a Msg, with the time
//	e.Tick(now)                                     // deadlines and heartbeat timeouts
//	for _, ef := range e.Ready() { ... }             // every output is an Effect
//
// The inputs are domain messages (msg.go): site membership, job
// submission and resumption, uploads, reports, secure-round messages, the
// driver's word that a round is durable (Committed) or that an unmasking
// ran (Unmasked). The effects (effects.go) are tasks to send, rounds and
// results to persist, audit entries, job ends, phase timings, and the
// unmasking of a secure round, which the driver runs off its loop. State
// is read through methods that return copies (Jobs, Job, Active, Sites,
// Counters, RoundSites, PendingTasks, ExpectedSpecs, Model). Refusals are
// *Refusal errors with a stable Reason code; each wraps the fed sentinel
// that decides the caller's status.
//
// # Where things are
//
//   - engine.go: Engine, Config, Step, Tick, Ready, submission and resume;
//   - msg.go: the inputs; effects.go: the effects, audit events, round
//     summaries and counters; reads.go: the state read by the driver;
//   - round.go: a round's phases and attempts (select, init, train,
//     commit), cohort selection, retries and the round's output;
//   - tasks.go: the tasks handed out and the one conversion of a job's
//     train settings to the trainer's (trainSpec);
//   - uploads.go: checks on uploads (round, attempt, nonce, phase) and
//     folding a site's local model into the round;
//   - jobs.go: sample and evaluate rounds, task reports, cancellation;
//   - sites.go: site membership, heartbeats, refused calls;
//   - dropouts.go: why sites left a round; reasons.go: the stable reason
//     codes and the Refusal error;
//   - secure.go, secure_round.go: secure aggregation (crypto/secagg) as
//     five phases of a round, with the unmasking handed to the driver;
//     secure_spec.go: its job settings and differential privacy;
//   - aggregate.go: the plain round's streaming weighted sum of local
//     models; validate.go: the checks every plain update passes;
//   - strategy*.go: FedAvg, FedProx, FedAdam/FedYogi (FedBN is FedAvg with
//     local-only tensors); ema.go: the server EMA of committed models;
//   - jobspec.go: job specs (train, sample, evaluate; docs/jobs.md), their
//     defaults, decoding and validation; refs.go: references to earlier
//     jobs' outputs.
//
// The tests drive the engine with a fake time: testdata/*.txt are
// datadriven scripts (interaction_test.go runs them; harness_test.go is
// the harness they share with the Go tests), and the Go tests check
// properties against references (a secure round's model against FedAvg,
// the server EMA against hand-computed values).
package engine
