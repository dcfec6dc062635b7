// Package coordinator runs federated jobs. Its core, Engine, is a pure state
// machine (no I/O, time passed in by the caller) for sites, jobs, rounds and
// tasks: cohort selection, quorum, per-phase deadlines, rejection of late,
// duplicate and stale updates by round, attempt and nonce, update
// validation, streaming aggregation and server-side strategies. Coordinator
// wraps it in one goroutine with the I/O at the edges: the gRPC server,
// memberlist failure detection, the bbolt store and content-addressed
// checkpoints, from which a restarted coordinator resumes its jobs.
package coordinator
