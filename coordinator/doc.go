// Package coordinator runs federated jobs. Its core is the pure state
// machine of package coordinator/engine; Coordinator is the engine's
// driver: one goroutine owns the Engine, steps it with every input at the
// injected clock's time and carries out its effects, and the I/O lives
// here at the edges: the gRPC services, memberlist failure detection, the
// bbolt store and content-addressed checkpoints (from which a restarted
// coordinator resumes its jobs), the unmasking of secure rounds off the
// loop, logs and metrics.
//
// # Where things are
//
// Every file of this package is driver (the engine's files are in
// coordinator/engine):
//   - coordinator.go: the driver loop, options, submission and resume,
//     persisting rounds; secure.go: secure-aggregation options and the
//     off-loop unmasking;
//   - wire.go: the wire edge, where every protocol message becomes an
//     engine input and every engine task a protocol Task, once;
//   - server.go, services.go, jobs_service.go: the federation's gRPC
//     services (join, tasks, chunked model download and update upload,
//     heartbeats, job contexts, checkpoints, task reports), health and
//     reflection;
//   - admin.go: the admin API, for admin certificates only;
//   - workflow.go, refs.go: resolving a job spec's references against the
//     store, and the site-side job context; ema_store.go: the server EMA's
//     checkpoints;
//   - store*.go, checkpoint.go: the bbolt store (jobs, rounds, models,
//     results, audit log) and checkpoints written atomically;
//   - failures.go: each job's failure log; refusals.go: refused calls on
//     their way to the engine;
//   - membership.go: memberlist gossip; tls.go: mTLS from a startup kit and
//     the per-call access check;
//   - metrics.go: Prometheus /metrics; config.go: the TOML configuration;
//   - vocabulary.go: the engine's types and constants that the
//     coordinator's users name (JobSpec, RoundSummary, events...).
package coordinator
