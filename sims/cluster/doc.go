// Package cluster launches a whole consortium in one process: a real
// coordinator and N real site agents talking real gRPC over loopback TCP or
// in-memory bufconn. It is what `synthfed sim`, the fault scenarios, the
// site agent's consortium tests and the crypto benchmark run on: one
// harness. DefaultConfig is the simulation's profile; DefaultLocalConfig is
// the deadline profile of in-process tests (bufconn, fast heartbeats and
// rejoins, short phases). Options hook into each coordinator and agent
// start (Coordinator, Agent, AgentOptions).
//
// Security comes from Kits: a consortium CA and startup kits provisioned
// with crypto/pki and loaded with coordinator.UseKit and siteagent.UseKit
// (mTLS with revocation checked per handshake and per call, secure
// aggregation by default); Kits.Revoke revokes a site while the consortium
// runs.
//
// Faults are injected at the edges: the Network makes every listener and
// dialer, and Faults wraps one with per-site partitions that heal, delays
// and drops; the Clock drives every timer; agents can be crashed and
// restarted (StopAgent, StartAgent) and the coordinator restarted on its
// state directory and address (RestartCoordinator).
package cluster
