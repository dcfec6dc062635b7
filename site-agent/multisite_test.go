package siteagent_test

import (
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/logreg"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// net is a swappable in-memory network: a restarted coordinator gets a new
// listener and the agents' dialer follows it.
type memNet struct {
	cur atomic.Pointer[bufconn.Listener]
}

func (n *memNet) listen() *bufconn.Listener {
	l := bufconn.Listen(1 << 20)
	n.cur.Store(l)
	return l
}

func (n *memNet) dial(ctx context.Context, _ string) (net.Conn, error) {
	return n.cur.Load().DialContext(ctx)
}

type coordProc struct {
	c      *coordinator.Coordinator
	cancel context.CancelFunc
	done   chan error
}

func (p *coordProc) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 900*time.Millisecond { // StopGrace is 1 s
			t.Errorf("graceful stop took %v: something held it to the deadline", d)
		}
	}()
	p.cancel()
	if err := <-p.done; err != nil {
		t.Errorf("coordinator run: %v", err)
	}
}

func baseJob(id string, sites ...string) coordinator.JobSpec {
	j := coordinator.DefaultJobSpec()
	j.ID, j.Sites, j.Rounds, j.Quorum = id, sites, 3, 2
	j.Deadlines = coordinator.Deadlines{Select: coordinator.Duration(10 * time.Second), Init: coordinator.Duration(10 * time.Second), Train: coordinator.Duration(10 * time.Second)}
	j.Train = coordinator.TrainSpec{LocalSteps: 20, BatchSize: 16, LearningRate: 0.1}
	return j
}

func startCoord(t *testing.T, n *memNet, dir string, jobs ...coordinator.JobSpec) *coordProc {
	t.Helper()
	cfg := coordinator.DefaultConfig()
	cfg.Insecure, cfg.DataDir, cfg.Listen = true, dir, "127.0.0.1:0"
	cfg.Gossip.Enabled = false
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = coordinator.Duration(100*time.Millisecond), coordinator.Duration(2*time.Second)
	cfg.StopGrace = coordinator.Duration(time.Second)
	cfg.Jobs = jobs
	c, err := coordinator.New(cfg, coordinator.Options{Listener: n.listen()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &coordProc{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- c.Run(ctx) }()
	return p
}

type agents struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (a *agents) stop() { a.cancel(); a.wg.Wait() }

func startAgents(t *testing.T, n *memNet, trainers map[string]model.Trainer) *agents {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	as := &agents{cancel: cancel}
	for site, tr := range trainers {
		cfg := siteagent.DefaultConfig()
		cfg.SiteID, cfg.Coordinator, cfg.Insecure, cfg.Gossip.Enabled = site, "bufconn:0", true, false
		cfg.Backoff = siteagent.BackoffConfig{Initial: siteagent.Duration(20 * time.Millisecond), Max: siteagent.Duration(200 * time.Millisecond), Multiplier: 2, Jitter: 0.1}
		cfg.StopGrace = siteagent.Duration(time.Second)
		a, err := siteagent.New(cfg, siteagent.Options{Trainers: map[string]model.Trainer{"logreg": tr}, Dialer: n.dial})
		if err != nil {
			t.Fatal(err)
		}
		as.wg.Add(1)
		go func() { defer as.wg.Done(); _ = a.Run(ctx) }()
	}
	return as
}

func logregSites(t *testing.T, norm bool, names ...string) map[string]model.Trainer {
	t.Helper()
	out := map[string]model.Trainer{}
	for i, n := range names {
		cfg := logreg.DefaultConfig()
		cfg.Site, cfg.Norm, cfg.Dim, cfg.TrainSamples = i, norm, 8, 200
		tr, err := logreg.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = tr
	}
	return out
}

func wait(t *testing.T, c *coordinator.Coordinator, job string) coordinator.JobStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.Wait(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

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
			n := &memNet{}
			job := baseJob("j", "s1", "s2", "s3")
			job.Strategy = tc.strategy
			co := startCoord(t, n, t.TempDir(), job)
			defer co.stop(t)
			trainers := logregSites(t, tc.norm, "s1", "s2", "s3")
			as := startAgents(t, n, trainers)
			defer as.stop()
			st := wait(t, co.c, "j")
			if st.State != coordinator.JobDone || st.Committed != 3 {
				t.Fatalf("status %+v", st)
			}
			rounds, _ := co.c.Rounds("j")
			if len(rounds) != 4 || len(rounds[3].Summary.Accepted) != 3 {
				t.Fatalf("rounds %+v", rounds)
			}
			first, last := rounds[1].Summary.Metrics["eval_loss"], rounds[3].Summary.Metrics["eval_loss"]
			if !(last < first) {
				t.Errorf("global eval loss did not fall: %v -> %v", first, last)
			}
			g, err := co.c.Global("j")
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
	n := &memNet{}
	job := baseJob("j", "good1", "good2", "nan", "shape")
	job.Rounds = 2
	co := startCoord(t, n, t.TempDir(), job)
	defer co.stop(t)
	tr := logregSites(t, false, "good1", "good2", "nan", "shape")
	tr["nan"] = faulty{tr["nan"], "nan"}
	tr["shape"] = faulty{tr["shape"], "shape"}
	as := startAgents(t, n, tr)
	defer as.stop()
	st := wait(t, co.c, "j")
	if st.State != coordinator.JobDone {
		t.Fatalf("status %+v", st)
	}
	cnt, _ := co.c.Counters(context.Background())
	if cnt.Rejected[string(coordinator.ReasonNonFinite)] != 2 || cnt.Rejected[string(coordinator.ReasonShape)] != 2 {
		t.Fatalf("rejections %v", cnt.Rejected)
	}
	log, _ := co.c.AuditLog()
	var sawNaN bool
	for _, e := range log {
		if e.Event == coordinator.EventRejected && e.Site == "nan" && e.Reason == string(coordinator.ReasonNonFinite) && e.Detail != "" {
			sawNaN = true
		}
	}
	if !sawNaN {
		t.Fatal("NaN refusal not in the audit log")
	}
	rounds, _ := co.c.Rounds("j")
	if r := rounds[1].Summary; len(r.Accepted) != 2 || r.Rejected["nan"] != string(coordinator.ReasonNonFinite) || r.Rejected["shape"] != string(coordinator.ReasonShape) {
		t.Fatalf("round 1 summary %+v", r)
	}
}

// TestCoordinatorRestartResumes stops the coordinator after a committed
// round and starts a new one on the same data directory: it resumes at the
// committed round with the same model hash, the agents reconnect by
// themselves, and the job completes.
func TestCoordinatorRestartResumes(t *testing.T) {
	n := &memNet{}
	dir := t.TempDir()
	job := baseJob("j", "s1", "s2", "s3")
	job.Rounds = 4
	job.Train.Params = map[string]string{"delay_ms": "200"}
	co := startCoord(t, n, dir, job)
	as := startAgents(t, n, logregSites(t, false, "s1", "s2", "s3"))
	defer as.stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs, _ := co.c.Jobs(context.Background())
		if len(jobs) == 1 && jobs[0].Committed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("round 2 never committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	co.stop(t)
	st0, _ := storeJob(t, dir)
	co2 := startCoord(t, n, dir) // the job comes from the store, not the config
	defer co2.stop(t)
	jobs, _ := co2.c.Jobs(context.Background())
	if len(jobs) != 1 || jobs[0].Committed != st0.Committed || jobs[0].GlobalHash != st0.GlobalHash {
		t.Fatalf("resumed %+v, stored %+v", jobs, st0)
	}
	st := wait(t, co2.c, "j")
	if st.State != coordinator.JobDone || st.Committed != 4 {
		t.Fatalf("after resume %+v", st)
	}
}

// storeJob reads a job's durable record through a short-lived coordinator
// store handle (the coordinator must be stopped).
func storeJob(t *testing.T, dir string) (coordinator.JobRecord, bool) {
	t.Helper()
	st, err := coordinator.OpenStore(dir+"/state.db", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, ok, err := st.Job("j")
	if err != nil {
		t.Fatal(err)
	}
	return rec, ok
}

func TestJoinVersionMismatchRefused(t *testing.T) {
	n := &memNet{}
	co := startCoord(t, n, t.TempDir())
	defer co.stop(t)
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithContextDialer(n.dial), grpc.WithTransportCredentials(insecure.NewCredentials()))
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

// TestSubmitToRunningCoordinator submits jobs the way the admin API will:
// an invalid spec is refused and not stored, a valid one runs, and a
// repeated ID is refused.
func TestSubmitToRunningCoordinator(t *testing.T) {
	n := &memNet{}
	co := startCoord(t, n, t.TempDir())
	defer co.stop(t)
	as := startAgents(t, n, logregSites(t, false, "s1", "s2"))
	defer as.stop()
	ctx := context.Background()
	bad := baseJob("bad", "s1", "s2")
	bad.Quorum = 0
	if err := co.c.Submit(ctx, bad); err == nil {
		t.Fatal("invalid job accepted")
	}
	job := baseJob("ok", "s1", "s2")
	job.Rounds = 1
	if err := co.c.Submit(ctx, job); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, co.c, "ok"); st.State != coordinator.JobDone {
		t.Fatalf("status %+v", st)
	}
	if err := co.c.Submit(ctx, job); !errors.Is(err, coordinator.ErrJobExists) {
		t.Fatalf("repeated id: %v", err)
	}
	jobs, _ := co.c.Jobs(ctx)
	if len(jobs) != 1 {
		t.Fatalf("jobs %+v", jobs)
	}
}
