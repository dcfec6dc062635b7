// Package soak runs a consortium of real synthfed processes (a coordinator
// and N site agents, mTLS and secure aggregation) for a long time under a
// seeded chaos schedule, then checks invariants over the collected history.
//
// The parts are split as the rest of the project: Plan (the chaos schedule)
// is a pure function of the seed; Check (the invariants) and Trend (the
// resource figures) are pure functions over a History; Run is the thin
// layer that starts processes, injects the faults and collects the history.
// Members run in one of three backends: containers (containers.go), each
// member its own container on a private Docker network; netns (netns.go),
// each member a process in a network namespace of its own, linked by veth
// pairs to a bridge in the run's switch namespace (root only); processes
// (backend.go), everything on loopback, where a partition goes through an
// in-process fault proxy in front of each site's connection to the
// coordinator (proxy.go). ModeAuto takes the first that can run here.
package soak
