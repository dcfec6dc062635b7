// Package memlimit sets a process's soft memory limit from the size of the
// models it handles.
//
// A coordinator or site agent holds about two models' worth of live data
// during a study-size round (docs/scale.md). With Go's default collector
// (GOGC=100) the garbage of a round (received chunks, a dropped model) may
// grow as large as the live heap, so a 400 MB model peaks near 4x its
// size. A Governor raises the runtime's soft limit to Base + Factor x the
// largest model seen, so the collector works harder exactly when models are
// large and stays out of the way for small ones.
//
// Only the coordinator command installs one: a limit is a process-wide
// policy, and an in-process simulation (agents and coordinator in one
// process) must not get it. Site agents do not either: their training
// memory (a U-Net's activations) is not bounded by the model's size, and a
// soft limit below it would make the collector run without pause; sites
// set GOMEMLIMIT for their machine instead (docs/scale.md). A GOMEMLIMIT in
// the environment wins: the command then installs no Governor.
package memlimit
