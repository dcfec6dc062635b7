// Package siteagent is the program a hospital runs next to its data. An
// Agent connects to the coordinator, joins with the protocol version, keeps
// a heartbeat and a gossip node alive, receives tasks and runs them through
// a model.Trainer (download the global model in chunks, train locally,
// upload the update in chunks), and reconnects with backoff whenever the
// coordinator goes away. Layers matching a job's local-only patterns (FedBN)
// stay at the site between rounds and are never uploaded. Only weight
// updates (masked under secure aggregation) and aggregate metrics leave the
// site: never images, labels or per-image outputs.
//
// # Where things are
//
//   - agent.go, client*.go, backoff.go: the connection loop, join,
//     heartbeats, task stream and reconnection;
//   - task.go: the wire edge: each wire task becomes a Task as it arrives
//     (its training as a model.TrainSpec, its local-only patterns compiled
//     once per job);
//   - executor.go, trainers.go: running a task through the Trainer built
//     from the job's model configuration: a plain round uploads the local
//     model, a secure round's masked-input phase gets the delta
//     (PhaseEnv.TrainDelta);
//   - task_sample.go, synthetic.go: sample jobs, which write synthetic sets
//     into the site's own folder; task_evaluate.go: evaluate jobs, which
//     score at the site and return aggregates only;
//   - data.go: the site's [data] section, loaded and split by patient;
//   - secagg.go, secagg_input.go, privacy.go: the site's side of secure
//     aggregation (the SecureRunner: the delta's clipping, mask and noise),
//     and its own privacy budget and policy;
//   - check.go: site-agent --check (config, certificates, coordinator,
//     data, synthetic folder) without joining;
//   - failures.go: task failures with the stage they happened in;
//   - gossip.go, tls.go, monitor.go, metrics.go: memberlist, mTLS from a
//     startup kit, /metrics and /healthz, the gRPC health service;
//   - config.go: the TOML configuration.
package siteagent
