package siteagent_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
	"github.com/synthfed/synthfed/sims/cluster"
)

// faulty wraps a trainer and corrupts its updates.
type faulty struct {
	model.Trainer
	mode string
}

func (f faulty) Train(ctx context.Context, g model.Weights, s model.TrainSpec) (model.TrainResult, error) {
	res, err := f.Trainer.Train(ctx, g, s)
	if err != nil {
		return res, err
	}
	switch f.mode {
	case "nan":
		w := res.Weights.Clone()
		w.Tensors()[0].Data[0] = float32(math.NaN())
		res.Weights = w
	case "shape":
		res.Weights = model.MustWeights(model.Tensor{Name: "linear.weight", Shape: []int{1, 3}, Data: []float32{1, 2, 3}})
	}
	return res, nil
}

func TestFederatedJobOverBufconn(t *testing.T) {
	cases := []struct {
		name     string
		strategy coordinator.StrategySpec
		norm     bool
	}{
		{"fedavg", coordinator.StrategySpec{Name: coordinator.StrategyFedAvg}, false},
		{"fedadam", func() coordinator.StrategySpec {
			s := coordinator.DefaultStrategySpec()
			s.Name = coordinator.StrategyFedAdam
			return s
		}(), false},
		{"fedbn keeps norm layers local", coordinator.StrategySpec{Name: coordinator.StrategyFedBN, LocalOnly: []string{`^norm\.`}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := baseJob("j")
			job.Strategy = tc.strategy
			sites := []string{"s1", "s2", "s3"}
			c := start(t, localCluster(job, sites...), cluster.Options{Trainers: trainers(logregSites(t, tc.norm, sites...))})
			st := wait(t, c.Coordinator(), "j")
			if st.State != coordinator.JobDone || st.Committed != 3 {
				t.Fatalf("status %+v", st)
			}
			co := c.Coordinator()
			rounds, _ := co.Rounds("j")
			if len(rounds) != 4 || len(rounds[3].Summary.Accepted) != 3 {
				log, _ := co.AuditLog()
				t.Fatalf("rounds %+v\naudit %+v", rounds, log)
			}
			first, last := rounds[1].Summary.Metrics["eval_loss"], rounds[3].Summary.Metrics["eval_loss"]
			if !(last < first) {
				t.Errorf("global eval loss did not fall: %v -> %v", first, last)
			}
			g, err := co.Global("j")
			if err != nil {
				t.Fatal(err)
			}
			if tc.norm {
				ns, _ := g.Get(logreg.NormWeightName)
				for _, v := range ns.Data {
					if v != 1 {
						t.Fatalf("global norm layer changed: %v", ns.Data)
					}
				}
			}
		})
	}
}

// TestBadUpdatesRefusedRoundCompletes: one site sends NaN, one a wrong
// shape; both are refused with reasons in the audit log and the counters,
// and the job completes with the quorum of the good sites.
func TestBadUpdatesRefusedRoundCompletes(t *testing.T) {
	job := baseJob("j")
	job.Rounds = 2
	sites := []string{"good1", "good2", "nan", "shape"}
	tr := logregSites(t, false, sites...)
	tr["nan"] = faulty{tr["nan"], "nan"}
	tr["shape"] = faulty{tr["shape"], "shape"}
	c := start(t, localCluster(job, sites...), cluster.Options{Trainers: trainers(tr)})
	st := wait(t, c.Coordinator(), "j")
	if st.State != coordinator.JobDone {
		t.Fatalf("status %+v", st)
	}
	co := c.Coordinator()
	cnt, _ := co.Counters(context.Background())
	if cnt.Rejected[string(coordinator.ReasonNonFinite)] != 2 || cnt.Rejected[string(coordinator.ReasonShape)] != 2 {
		t.Fatalf("rejections %v", cnt.Rejected)
	}
	log, _ := co.AuditLog()
	var sawNaN bool
	for _, e := range log {
		if e.Event == coordinator.EventRejected && e.Site == "nan" && e.Reason == string(coordinator.ReasonNonFinite) && e.Detail != "" {
			sawNaN = true
		}
	}
	if !sawNaN {
		t.Fatal("NaN refusal not in the audit log")
	}
	rounds, _ := co.Rounds("j")
	if r := rounds[1].Summary; len(r.Accepted) != 2 || r.Rejected["nan"] != string(coordinator.ReasonNonFinite) || r.Rejected["shape"] != string(coordinator.ReasonShape) {
		t.Fatalf("round 1 summary %+v", r)
	}
}

// TestCoordinatorRestartResumes stops the coordinator after a committed
// round (gracefully, within its stop grace) and starts it again on the
// same state directory: it resumes at the committed round with the same
// model hash from its store, the agents reconnect by themselves, and the
// job completes.
func TestCoordinatorRestartResumes(t *testing.T) {
	job := baseJob("j")
	job.Rounds = 4
	job.Train.Params = map[string]string{"delay_ms": "200"}
	sites := []string{"s1", "s2", "s3"}
	dir := t.TempDir()
	c, err := cluster.Start(context.Background(), localCluster(job, sites...), dir, cluster.Options{Trainers: trainers(logregSites(t, false, sites...))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs, _ := c.Coordinator().Jobs(context.Background())
		if len(jobs) == 1 && jobs[0].Committed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("round 2 never committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop := time.Now()
	if err := c.StopCoordinator(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(stop); d > 900*time.Millisecond { // StopGrace is 1 s
		t.Errorf("graceful stop took %v: something held it to the deadline", d)
	}
	st0 := storeJob(t, filepath.Join(dir, "coordinator"))
	if err := c.StartCoordinator(); err != nil {
		t.Fatal(err)
	}
	jobs, _ := c.Coordinator().Jobs(context.Background())
	if len(jobs) != 1 || jobs[0].Committed != st0.Committed || jobs[0].GlobalHash != st0.GlobalHash {
		t.Fatalf("resumed %+v, stored %+v", jobs, st0)
	}
	st := wait(t, c.Coordinator(), "j")
	if st.State != coordinator.JobDone || st.Committed != 4 {
		t.Fatalf("after resume %+v", st)
	}
}

// storeJob reads job j's durable record through a short-lived store
// handle (the coordinator must be stopped).
func storeJob(t *testing.T, dir string) coordinator.JobRecord {
	t.Helper()
	st, err := coordinator.OpenStore(filepath.Join(dir, "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, ok, err := st.Job("j")
	if err != nil || !ok {
		t.Fatalf("job j in the store: %v %v", ok, err)
	}
	return rec
}

// TestJoinVersionMismatchRefused calls the coordinator by hand: it is
// healthy, refuses another protocol version, an unknown session and a
// malformed site ID.
func TestJoinVersionMismatchRefused(t *testing.T) {
	job := baseJob("j")
	job.Quorum = 1
	c := start(t, localCluster(job, "s1"), cluster.Options{Trainers: trainers(logregSites(t, false, "s1"))})
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithContextDialer(c.Network().Dialer("probe")),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "synthfed.fed.v1.Federation"})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
	}
	cl := fedpb.NewFederationClient(conn)
	_, err = cl.Join(context.Background(), &fedpb.JoinRequest{ProtocolVersion: protocol.Version + 1, SiteId: "s1"})
	if err = protocol.FromStatus(err); !errors.Is(err, protocol.ErrVersion) {
		t.Fatalf("version mismatch: %v", err)
	}
	_, err = cl.Heartbeat(context.Background(), &fedpb.HeartbeatRequest{SessionId: "nope"})
	if err = protocol.FromStatus(err); !errors.Is(err, protocol.ErrUnknownSession) {
		t.Fatalf("unknown session: %v", err)
	}
	_, err = cl.Join(context.Background(), &fedpb.JoinRequest{ProtocolVersion: protocol.Version, SiteId: "bad/id"})
	if err = protocol.FromStatus(err); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("bad site id: %v", err)
	}
}

// TestSubmitToRunningCoordinator submits jobs the way the admin API does:
// an invalid spec is refused and not stored, a valid one runs, and a
// repeated ID is refused.
func TestSubmitToRunningCoordinator(t *testing.T) {
	sites := []string{"s1", "s2"}
	c := start(t, localCluster(baseJob("unused"), sites...), cluster.Options{Trainers: trainers(logregSites(t, false, sites...)),
		Coordinator: func(cfg *coordinator.Config, _ *coordinator.Options) { cfg.Jobs = nil }})
	co, ctx := c.Coordinator(), context.Background()
	bad := baseJob("bad")
	bad.Sites, bad.Quorum = sites, 0
	if err := co.Submit(ctx, bad); err == nil {
		t.Fatal("invalid job accepted")
	}
	job := baseJob("ok")
	job.Sites, job.Rounds = sites, 1
	if err := co.Submit(ctx, job); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, c.Coordinator(), "ok"); st.State != coordinator.JobDone {
		t.Fatalf("status %+v", st)
	}
	if err := co.Submit(ctx, job); !errors.Is(err, coordinator.ErrJobExists) {
		t.Fatalf("repeated id: %v", err)
	}
	jobs, _ := co.Jobs(ctx)
	if len(jobs) != 1 {
		t.Fatalf("jobs %+v", jobs)
	}
}
