// Package scenario runs fault scenarios on a simulated consortium: the real
// coordinator and agents (sims/cluster) on a fault-injecting network, with a
// fake clock that advances only while a script waits and no site is
// computing, so that timeouts and deadlines fire at the same logical moments
// on every run.
//
// A script (sims/testdata/*.txt) is a list of commands in the datadriven
// style of etcd-io/raft: a command line, "----", and the output the command
// must produce, ended by a blank line. Run with -rewrite to regenerate the
// outputs. The commands:
//
//	start sites=3 rounds=4 quorum=2 [model=logreg|classifier] [tls] [revoke=S]
//	      [corrupt=S:N] [max-norm=X] [deadline=60s] [select=10s] [heartbeat=200ms]
//	      [heartbeat-timeout=10s] [slow=S:D] [transport=bufconn|tcp]
//	wait-task site=S round=R      until S starts training round R
//	wait-round R                  until round R commits; prints its summary
//	wait-job                      until the job ends; prints its state
//	crash site=S | restart site=S stop or start an agent
//	restart-coordinator           stop the coordinator and start it again
//	partition site=S | heal site=S | link site=S delay=D drop=P | cut site=S
//	slow site=S delay=D           S's training takes D longer (fake time)
//	poison site=S round=R kind=nan|huge
//	revoke site=S                 revoke S's certificate at the coordinator
//	advance D                     move the fake clock by D
//	data site=S                   the site loader's refusals
//	metric site=S key=K           a site's reported metric, by round
//	tls                           the handshakes the coordinator refused
//	audit [event=E] [except=R,..] the audit log, by event, site, round, reason
//	check                         the invariants (below)
//
// check verifies, for every committed round of the job: the global model is
// finite; it equals the sample-weighted mean (FedAvg) of exactly the updates
// its accepted sites computed for that round, so no accepted update was lost
// and no refused one leaked in; and no poisoned update was accepted. Under
// secure aggregation (start ... tls) the coordinator cannot inspect
// updates; each site's runner clips its update (to the job's norm bound in
// L2, then each element to the fixed-point range) and refuses a non-finite
// one, and check applies the same clipping to the reference.
package scenario
