package siteagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// AgentVersion is reported on Join.
const AgentVersion = "synthfed-agent/1"

// Options are the agent's injected parts.
type Options struct {
	// Logger receives logs (nil: discard).
	Logger *slog.Logger
	// Clock is the time source (nil: the wall clock).
	Clock clock.Clock
	// Trainers maps model names (the job's "model") to trainers.
	Trainers map[string]model.Trainer
	// Security overrides the transport credentials; the zero value follows
	// Config.Insecure.
	Security protocol.Security
	// Dialer replaces the TCP dialer (bufconn, fault injection).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
	// DialOptions are extra gRPC dial options (interceptors...).
	DialOptions []grpc.DialOption
	// Phases runs aggregator-defined round phases (nil: none supported).
	Phases PhaseRunner
	// Results, when not nil, receives every task's outcome.
	Results chan TaskResult
	// Data, when not nil, supplies the site's records and images instead
	// of Config.Data's folder (simulations).
	Data DataSource
	// Privacy, when not nil, reports the differential-privacy budget for
	// the metrics.
	Privacy PrivacyBudget
	// Compute, when not nil, is the backend local training runs on (the
	// caller closes it); nil selects one from Config.Compute.
	Compute *device.Backend
	// DeviceSlots, when not nil, bounds the device jobs of agents sharing
	// Compute's device: each train, sample or evaluate task holds a slot
	// while it computes (simulations; nil: no bound).
	DeviceSlots DeviceSlots
}

// Agent is a site agent. Run it with Run.
type Agent struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	clk  clock.Clock
	conn *grpc.ClientConn
	cl   *client
	jobs *jobsClient
	exec *executor
	data *dataStore
	// metrics are the agent's Prometheus metrics (Registry).
	metrics *agentMetrics
	// compute is the training backend; ownCompute: Run closes it.
	compute    *device.Backend
	ownCompute bool

	mu      sync.Mutex
	session string
	gossip  *gossipNode
	mon     *monitor
}

// New validates cfg and prepares the connection (gRPC connects lazily).
func New(cfg Config, opts Options) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	data := newDataStore(cfg.Data, opts.Data, opts.Logger)
	if len(opts.Trainers) == 0 && !data.available() {
		return nil, fmt.Errorf("site %s: no trainers and no [data] to build them on: %w", cfg.SiteID, ErrNoTrainer)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.New()
	}
	if opts.Security == (protocol.Security{}) {
		opts.Security.Insecure = cfg.Insecure
	}
	cred, err := opts.Security.DialOption()
	if err != nil {
		return nil, err
	}
	dopts := append([]grpc.DialOption{cred, grpc.WithConnectParams(connectParams(cfg.Backoff))}, opts.DialOptions...)
	if opts.Dialer != nil {
		dopts = append(dopts, grpc.WithContextDialer(opts.Dialer))
	}
	conn, err := grpc.NewClient("passthrough:///"+cfg.Coordinator, dopts...)
	if err != nil {
		return nil, fmt.Errorf("site %s: dial %s: %w", cfg.SiteID, cfg.Coordinator, err)
	}
	a := &Agent{cfg: cfg, opts: opts, log: opts.Logger.With("site", cfg.SiteID), clk: opts.Clock, conn: conn,
		cl: &client{rpc: fedpb.NewFederationClient(conn), chunkSize: cfg.ChunkSize}}
	a.jobs = &jobsClient{rpc: fedpb.NewJobsClient(conn), chunkSize: cfg.ChunkSize}
	if opts.Privacy == nil && cfg.TLS.Configured() && cfg.Privacy.StateDir != "" {
		opts.Privacy = ledgerBudget(cfg.Privacy, cfg.SiteID)
	}
	a.metrics = newAgentMetrics(cfg.SiteID, opts.Privacy)
	if a.compute, a.ownCompute, err = selectCompute(cfg, opts.Compute, a.log); err != nil {
		conn.Close()
		return nil, err
	}
	a.metrics.registerCompute(cfg.SiteID, a.compute)
	a.data = data
	data.log = a.log
	a.exec = newExecutor(cfg, a.log, a.clk, opts.Trainers, a)
	a.exec.results, a.exec.phases = opts.Results, opts.Phases
	a.exec.data, a.exec.metrics, a.exec.compute, a.exec.slots = data, a.metrics, a.compute, opts.DeviceSlots
	return a, nil
}

func (a *Agent) sessionID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.session
}

func (a *Agent) setSession(id string) {
	a.mu.Lock()
	a.session = id
	a.mu.Unlock()
}

func (a *Agent) download(ctx context.Context, session, jobID, hash string) (model.Weights, error) {
	w, err := a.cl.download(ctx, session, jobID, hash)
	a.metrics.addBytes(weightBytes(w), 0)
	return w, err
}

func (a *Agent) exchange(ctx context.Context, m *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	return a.cl.exchange(ctx, m)
}

func (a *Agent) upload(ctx context.Context, meta *fedpb.UpdateMeta, w model.Weights) error {
	err := a.cl.upload(ctx, meta, w)
	if err == nil {
		a.metrics.addBytes(0, weightBytes(w))
	}
	return err
}

// Run keeps the agent joined until ctx ends: it joins, follows tasks and
// heartbeats, and on any break joins again after a backoff. It returns nil
// after ctx ends, or an error the coordinator says is permanent (protocol
// version, permission).
func (a *Agent) Run(ctx context.Context) error {
	mon, err := a.startMonitor()
	if err != nil {
		a.conn.Close()
		return fmt.Errorf("site %s: %w", a.cfg.SiteID, err)
	}
	a.mu.Lock()
	a.mon = mon
	a.mu.Unlock()
	defer mon.stop()
	defer a.conn.Close()
	if a.ownCompute {
		defer a.compute.Close()
	}
	defer a.stopGossip()
	defer a.exec.wait(a.cfg.StopGrace.D())
	bo := newBackoff(a.cfg.Backoff, uint64(len(a.cfg.SiteID)))
	for {
		joined, err := a.runSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, protocol.ErrVersion) || errors.Is(err, protocol.ErrPermission) && !joined {
			return fmt.Errorf("site %s: %w", a.cfg.SiteID, err)
		}
		if joined {
			bo.Reset()
		}
		wait := bo.Next()
		a.log.Warn("disconnected; will rejoin", "err", err, "wait", wait)
		if err := sleep(ctx, a.clk, wait); err != nil {
			return nil
		}
	}
}

// runSession joins and serves one session until it breaks.
func (a *Agent) runSession(ctx context.Context) (bool, error) {
	req := &fedpb.JoinRequest{ProtocolVersion: protocol.Version, SiteId: a.cfg.SiteID, AgentVersion: AgentVersion, Models: a.models()}
	if g := a.ensureGossip(); g != nil {
		req.GossipAddr = g.addr()
	}
	reply, err := a.cl.join(ctx, req)
	if err != nil {
		return false, fmt.Errorf("join: %w", err)
	}
	a.setSession(reply.GetSessionId())
	a.metrics.session(true)
	defer a.metrics.session(false)
	a.mon.serving(true)
	defer a.mon.serving(false)
	a.log.Info("joined", "coordinator", reply.GetCoordinatorId(), "session", reply.GetSessionId()[:8])
	if g := a.ensureGossip(); g != nil && len(reply.GetGossipSeeds()) > 0 {
		if err := g.join(reply.GetGossipSeeds()); err != nil {
			a.log.Warn("gossip join failed", "err", err)
		}
	}
	interval := time.Duration(reply.GetHeartbeatIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = 2 * time.Second
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.heartbeats(gctx, reply.GetSessionId(), interval) })
	g.Go(func() error { return a.tasks(gctx, ctx, reply.GetSessionId()) })
	return true, g.Wait()
}

func (a *Agent) models() []string {
	out := make([]string, 0, len(a.opts.Trainers)+2)
	for k := range a.opts.Trainers {
		out = append(out, k)
	}
	if a.data.available() {
		out = append(out, ModelDDPM, ModelClassifier)
	}
	return out
}

func (a *Agent) heartbeats(ctx context.Context, session string, every time.Duration) error {
	t := a.clk.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
		}
		hctx, cancel := context.WithTimeout(ctx, 2*every+time.Second)
		_, err := a.cl.heartbeat(hctx, &fedpb.HeartbeatRequest{SessionId: session, State: "ok"})
		cancel()
		if errors.Is(err, protocol.ErrUnknownSession) {
			return fmt.Errorf("heartbeat: %w", err)
		}
		if err != nil && ctx.Err() == nil {
			a.log.Debug("heartbeat failed", "err", err)
		}
	}
}

// tasks follows the task stream; tasks run under runCtx so that they
// outlive a broken session (their upload uses the newest session).
func (a *Agent) tasks(ctx, runCtx context.Context, session string) error {
	stream, err := a.cl.rpc.Tasks(ctx, &fedpb.TasksRequest{SessionId: session})
	if err != nil {
		return protocol.FromStatus(err)
	}
	for {
		wt, err := stream.Recv()
		if err == io.EOF {
			return fmt.Errorf("task stream closed: %w", protocol.ErrUnavailable)
		}
		if err != nil {
			return fmt.Errorf("task stream: %w", protocol.FromStatus(err))
		}
		if err := protocol.ValidateTask(wt); err != nil {
			a.log.Warn("refused malformed task", "err", err)
			continue
		}
		t, err := taskFromWire(wt, a.exec.localOnly)
		if err != nil {
			a.log.Warn("refused malformed task", "task", wt.GetTaskId(), "err", err)
			go a.exec.reportFailure(taskIDs(wt), stageErr("task", err)) // the coordinator stops waiting for this site
			continue
		}
		a.log.Info("task received", "task", t.ID, "kind", t.Kind, "job", t.Job, "round", t.Round, "cancel", t.Cancel)
		if err := a.cfg.Privacy.admits(t); err != nil {
			a.log.Warn("task refused by site policy", "task", t.ID, "err", err)
			go a.exec.reportFailure(t, stageErr("policy", err)) // the coordinator stops waiting for this site
			continue
		}
		a.exec.submit(runCtx, t)
	}
}
