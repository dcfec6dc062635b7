// Package siteagent is the program a hospital runs next to its data. An
// Agent connects to the coordinator, joins with the protocol version, keeps
// a heartbeat and a gossip node alive, receives tasks and runs them through
// a model.Trainer (download the global model in chunks, train locally,
// upload the update in chunks), and reconnects with backoff whenever the
// coordinator goes away. Layers matching a job's local-only patterns (FedBN)
// stay at the site between rounds and are never uploaded.
package siteagent
