// Package cluster launches a whole consortium in one process: a real
// coordinator and N real site agents talking real gRPC over loopback TCP or
// in-memory bufconn. It is what `synthfed sim` runs and what experiments
// build on. Faults are injected at the edges: the Network makes every
// listener and dialer (wrap it to drop, delay or partition connections),
// the Clock drives every timer, and agents can be crashed and restarted.
package cluster
