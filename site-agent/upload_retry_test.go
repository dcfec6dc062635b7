package siteagent_test

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/cluster"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// wideTrainer adds a fixed per-site offset to every weight of an n-value
// model, so the FedAvg of a round is known by hand.
type wideTrainer struct {
	n       int
	offset  float32
	samples int
}

func (w wideTrainer) Init(context.Context, int64) (model.Weights, error) {
	d := make([]float32, w.n)
	for i := range d {
		d[i] = float32(i%7) * 0.25
	}
	return model.MustWeights(model.Tensor{Name: "w", Shape: []int{w.n}, Data: d}), nil
}

func (w wideTrainer) Train(_ context.Context, g model.Weights, _ model.TrainSpec) (model.TrainResult, error) {
	out := g.Clone()
	for i := range out.Tensors()[0].Data {
		out.Tensors()[0].Data[i] += w.offset
	}
	return model.TrainResult{Weights: out, NumSamples: w.samples}, nil
}

func (wideTrainer) Evaluate(context.Context, model.Weights) (map[string]float64, error) {
	return map[string]float64{}, nil
}

// dropUploads fails the first `times` upload streams of a site after
// `after` chunks: the stream is cancelled under the agent, which sees
// Unavailable, as when a connection or a proxy drops mid-upload.
type dropUploads struct {
	after, times int
	dropped      atomic.Int32
	mu           sync.Mutex
}

func (d *dropUploads) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if method != "/synthfed.fed.v1.Federation/UploadUpdate" || int(d.dropped.Load()) >= d.times {
		return streamer(ctx, desc, cc, method, opts...)
	}
	ctx, cancel := context.WithCancel(ctx)
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &droppingStream{ClientStream: s, d: d, cancel: cancel}, nil
}

type droppingStream struct {
	grpc.ClientStream
	d      *dropUploads
	cancel context.CancelFunc
	sent   int
}

func (s *droppingStream) SendMsg(m any) error {
	if s.sent > s.d.after { // the meta message, then `after` chunks
		s.cancel()
		s.d.dropped.Add(1)
		return status.Error(codes.Unavailable, "test: connection dropped mid-upload")
	}
	s.sent++
	return s.ClientStream.SendMsg(m)
}

// TestDroppedUploadIsRetried: a site's upload stream breaks after a few
// chunks, twice. The coordinator discards the partial uploads (spooled,
// never folded), the agent retries, and the round commits the exact
// FedAvg of the three sites, each counted once, with the coordinator
// summing in its float32-delta mode as it does for study-size models.
func TestDroppedUploadIsRetried(t *testing.T) {
	const n = 1000
	job := baseJob("j")
	job.Rounds, job.MaxAttempts = 1, 1
	sites := []string{"s1", "s2", "s3"}
	trs := map[string]model.Trainer{
		"s1": wideTrainer{n: n, offset: 1, samples: 10},
		"s2": wideTrainer{n: n, offset: 2, samples: 30},
		"s3": wideTrainer{n: n, offset: -4, samples: 20},
	}
	drop := &dropUploads{after: 3, times: 2}
	c := start(t, localCluster(job, sites...), cluster.Options{Trainers: trainers(trs),
		Coordinator: func(cfg *coordinator.Config, _ *coordinator.Options) {
			cfg.Float64SumMax = -1
			cfg.ChunkSize = 400 // 100 values a chunk: 10 chunks an upload
		},
		Agent: func(_ int, ac *siteagent.Config) { ac.EvaluateGlobal, ac.ChunkSize = false, 400 },
		AgentOptions: func(i int, o *siteagent.Options) {
			if sites[i] == "s2" {
				o.DialOptions = append(o.DialOptions, grpc.WithChainStreamInterceptor(drop.intercept))
			}
		}})
	st := wait(t, c.Coordinator(), "j")
	if st.State != coordinator.JobDone {
		t.Fatalf("status %+v", st)
	}
	if got := drop.dropped.Load(); got != 2 {
		t.Fatalf("%d uploads dropped, want 2", got)
	}
	rounds, _ := c.Coordinator().Rounds("j")
	if acc := rounds[len(rounds)-1].Summary.Accepted; len(acc) != 3 {
		t.Fatalf("accepted %v", acc)
	}
	g, err := c.Coordinator().Global("j")
	if err != nil {
		t.Fatal(err)
	}
	init, _ := wideTrainer{n: n}.Init(context.Background(), 0)
	mean := (10*1 + 30*2 + 20*-4) / 60.0
	for i, v := range g.Tensors()[0].Data {
		want := float64(init.Tensors()[0].Data[i]) + mean
		if math.Abs(float64(v)-want) > 1e-6 {
			t.Fatalf("global[%d] = %v, want %v: a partial upload was counted or an update lost", i, v, want)
		}
	}
	if got := rounds[len(rounds)-1].Summary.NumSamples; got != 60 {
		t.Fatalf("round counted %d samples, want 60 (each site once)", got)
	}
}

// TestSecureInputInSpooledParts: with 8 KB phase messages each site's
// 24 KB masked input arrives in parts, which the coordinator joins in
// spool files and sums in pieces; the round commits the FedAvg of the
// three sites, within the fixed-point step.
func TestSecureInputInSpooledParts(t *testing.T) {
	const n = 6000
	sites := []string{"site-a", "site-b", "site-c"}
	trs := map[string]model.Trainer{
		"site-a": wideTrainer{n: n, offset: 0.01, samples: 100},
		"site-b": wideTrainer{n: n, offset: 0.02, samples: 300},
		"site-c": wideTrainer{n: n, offset: -0.04, samples: 200},
	}
	cfg := localCluster(secureJob(), sites...)
	cfg.TLS = true
	c := start(t, cfg, cluster.Options{Trainers: trainers(trs), Agent: func(_ int, ac *siteagent.Config) {
		ac.EvaluateGlobal, ac.ChunkSize = false, 8192
	}})
	st := wait(t, c.Coordinator(), "sj")
	if st.State != coordinator.JobDone {
		t.Fatalf("job %+v", st)
	}
	rounds, _ := c.Coordinator().Rounds("sj")
	if sum := rounds[len(rounds)-1].Summary; sum.Metrics["secagg_survivors"] != 3 || sum.NumSamples != 600 {
		audit, _ := c.Coordinator().AuditLog()
		t.Fatalf("round summary %+v\naudit %+v", sum, audit)
	}
	g, _ := c.Coordinator().Global("sj")
	init, _ := wideTrainer{n: n}.Init(context.Background(), 0)
	mean := (100*0.01 + 300*0.02 + 200*-0.04) / 600.0
	p, _ := secagg.DefaultConfig().Params(3, n)
	bound := 3*p.Step(3)/0.6 + 1e-6
	for i, v := range g.Tensors()[0].Data {
		if d := math.Abs(float64(v) - float64(init.Tensors()[0].Data[i]) - mean); d > bound {
			t.Fatalf("global[%d] = %v, %g from the FedAvg (bound %g)", i, v, d, bound)
		}
	}
}
