package siteagent_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/cluster"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// gatedTrainer holds every Train until the gate opens, so that a test can
// look at the federation in the middle of a round.
type gatedTrainer struct {
	model.Trainer
	gate    chan struct{}
	started func() // shared by the sites: the first Train calls it
}

func (g *gatedTrainer) Train(ctx context.Context, w model.Weights, s model.TrainSpec) (model.TrainResult, error) {
	g.started()
	select {
	case <-g.gate:
	case <-ctx.Done():
		return model.TrainResult{}, ctx.Err()
	}
	return g.Trainer.Train(ctx, w, s)
}

// scrape fetches a /metrics page and parses it as Prometheus text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("content type %q is not the text format", ct)
	}
	p := expfmt.NewTextParser(pmodel.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics of %s does not parse: %v", addr, err)
	}
	return fams
}

// value returns the sum of a family's samples whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsDuringRound scrapes the coordinator's and an agent's /metrics
// in the middle of a round and after the job: both parse as Prometheus
// text format and the counters move.
func TestMetricsDuringRound(t *testing.T) {
	gate, started := make(chan struct{}), make(chan struct{})
	open, begin := sync.OnceFunc(func() { close(gate) }), sync.OnceFunc(func() { close(started) })
	trs := logregSites(t, false, "a", "b")
	for site, tr := range trs {
		trs[site] = &gatedTrainer{Trainer: tr, gate: gate, started: begin}
	}
	cl := start(t, localCluster(baseJob("m"), "a", "b"), cluster.Options{Trainers: trainers(trs),
		Coordinator: func(cc *coordinator.Config, _ *coordinator.Options) { cc.MetricsListen = "127.0.0.1:0" },
		Agent: func(_ int, ac *siteagent.Config) {
			ac.Monitor.Listen, ac.Monitor.HealthListen = "127.0.0.1:0", "127.0.0.1:0"
		}})
	defer open()
	c := cl.Coordinator()
	agentA, _ := cl.Agent(0)
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("no round started")
	}
	checkAgentHealth(t, agentA)
	during := scrape(t, c.MetricsAddr())
	if value(during, "synthfed_coordinator_active_round", map[string]string{"job": "m"}) != 1 {
		t.Errorf("active round during round 1: %v", during["synthfed_coordinator_active_round"])
	}
	if value(during, "synthfed_coordinator_tasks_sent_total", nil) < 3 || value(during, "synthfed_coordinator_sites", map[string]string{"state": "up"}) != 2 {
		t.Errorf("during the round: tasks sent %v, sites up %v", value(during, "synthfed_coordinator_tasks_sent_total", nil),
			value(during, "synthfed_coordinator_sites", map[string]string{"state": "up"}))
	}
	open()
	if st := wait(t, cl.Coordinator(), "m"); st.State != coordinator.JobDone {
		t.Fatalf("job %s: %s", st.State, st.Err)
	}
	after := scrape(t, c.MetricsAddr())
	for _, name := range []string{"synthfed_coordinator_rounds_committed_total", "synthfed_coordinator_updates_accepted_total",
		"synthfed_coordinator_bytes_received_total", "synthfed_coordinator_bytes_sent_total", "synthfed_coordinator_tasks_sent_total"} {
		if b, a := value(during, name, nil), value(after, name, nil); !(a > b) {
			t.Errorf("%s did not move: %v during the round, %v after", name, b, a)
		}
	}
	if n := value(after, "synthfed_coordinator_round_duration_seconds", map[string]string{"kind": "train"}); n != 4 {
		t.Errorf("%v round durations observed, want 4 (init and 3 rounds)", n)
	}
	if value(after, "synthfed_coordinator_phase_duration_seconds", map[string]string{"phase": "train"}) < 2 {
		t.Error("train phase durations not observed")
	}
	am := scrape(t, agentA.MetricsAddr())
	if value(am, "synthfed_agent_tasks_total", map[string]string{"kind": "train", "outcome": "done"}) != 3 ||
		value(am, "synthfed_agent_bytes_received_total", nil) == 0 || value(am, "synthfed_agent_connected", nil) != 1 {
		t.Errorf("agent metrics: tasks %v, bytes in %v, connected %v", am["synthfed_agent_tasks_total"], am["synthfed_agent_bytes_received_total"], am["synthfed_agent_connected"])
	}
	if _, ok := am["synthfed_agent_train_loss"]; !ok {
		t.Error("agent reports no train loss")
	}
}

// checkAgentHealth checks that a joined agent reports SERVING on its gRPC
// health service and 200 on /healthz.
func checkAgentHealth(t *testing.T, a *siteagent.Agent) {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+a.HealthAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: siteagent.HealthService})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("agent gRPC health: %v %v", r, err)
	}
	resp, err := http.Get("http://" + a.MetricsAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz of a joined agent: %s", resp.Status)
	}
}
