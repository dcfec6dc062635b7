// Package coordinator runs federated jobs. Its core, Engine, is a pure state
// machine (no I/O, time passed in by the caller) for sites, jobs, rounds and
// tasks: cohort selection, quorum, per-phase deadlines, rejection of late,
// duplicate and stale updates by round, attempt and nonce, update
// validation, streaming aggregation and server-side strategies. Coordinator
// wraps it in one goroutine with the I/O at the edges: the gRPC server,
// memberlist failure detection, the bbolt store and content-addressed
// checkpoints, from which a restarted coordinator resumes its jobs.
//
// # Where things are
//
// The pure core:
//   - engine.go, round.go, task.go, effects.go: the Engine, a round's
//     phases and attempts, the tasks it hands out and the effects it asks
//     its driver to carry out;
//   - job.go, jobspec.go, task_jobs.go, workflow.go: job specs (train,
//     sample, evaluate; docs/jobs.md), their validation, and references to
//     earlier jobs' outputs by content hash;
//   - aggregate.go, validate.go: streaming weighted mean in O(model size)
//     and the checks every update passes (names, shapes, finite, norm);
//   - strategy*.go: FedAvg, FedProx, FedAdam/FedYogi, FedBN;
//   - ema*.go: the server EMA of a train job's committed models (its
//     second output, job:<id>#ema);
//   - phases.go, secagg*.go: aggregators that need extra phases, and
//     secure aggregation (crypto/secagg) driven through them;
//   - dropouts.go, refusals.go, failures.go: why sites dropped out or were
//     refused, and the per-site failure log.
//
// The edges:
//   - coordinator.go: the driver goroutine, the injected clock and options;
//   - server.go, services.go, jobs_service.go: the federation's gRPC
//     services (join, tasks, chunked model download and update upload,
//     heartbeats), health and reflection;
//   - admin.go: the admin API, for admin certificates only;
//   - store*.go, checkpoint.go: the bbolt store (jobs, rounds, audit log)
//     and content-addressed checkpoints written atomically;
//   - membership.go: memberlist gossip; tls.go: mTLS from a startup kit;
//   - metrics.go: Prometheus /metrics; config.go: the TOML configuration.
package coordinator
