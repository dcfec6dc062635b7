package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/logreg"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// Options are the cluster's injected parts; the zero value is usable.
type Options struct {
	// Logger receives every component's logs (nil: discard).
	Logger *slog.Logger
	// Clock drives every component (nil: the wall clock).
	Clock clock.Clock
	// Network makes listeners and dialers (nil: from Config.Transport).
	Network Network
	// Trainers builds site i's trainers (nil: the built-in logreg model).
	Trainers func(site int, name string) (map[string]model.Trainer, error)
	// OnCommit observes each committed round (must not block).
	OnCommit func(coordinator.RoundSummary)
	// Results receives every agent's task outcomes when not nil.
	Results chan siteagent.TaskResult
	// Kits, when not nil, secures every connection with mTLS from the
	// consortium's startup kits (nil: Config.TLS decides; plaintext when
	// it is false).
	Kits *Kits
	// Secure enables secure aggregation at the coordinator without kits
	// (with Kits, UseKit enables it).
	Secure *coordinator.SecureConfig
	// Phases returns site i's runner of secure-round phases (nil: the
	// kit's SecureRunner with Kits, none without).
	Phases func(site int, name string) siteagent.PhaseRunner
	// Agent adjusts site i's agent configuration before it starts.
	Agent func(site int, cfg *siteagent.Config)
	// AgentOptions adjusts site i's agent options (its data source...)
	// before it starts.
	AgentOptions func(site int, opts *siteagent.Options)
	// Coordinator adjusts the coordinator's configuration and options (its
	// jobs, its model-config check...) before each start.
	Coordinator func(cfg *coordinator.Config, opts *coordinator.Options)
	// Compute, when not nil, is the one backend every site computes on
	// (the caller opens and closes it): on an OpenCL device the built-in
	// logreg trains there, and each agent gets it as its Compute.
	Compute *device.Backend
	// Slots, when not nil, bounds the device jobs the sites run at once
	// on Compute's device (each agent's DeviceSlots).
	Slots *Slots
}

// Cluster is a running coordinator and its agents.
type Cluster struct {
	cfg      Config
	opts     Options
	dir      string
	trainers []map[string]model.Trainer
	names    []string

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	coord  *coordProc
	agents []*agentProc
}

// coordProc is one run of the coordinator.
type coordProc struct {
	c      *coordinator.Coordinator
	cancel context.CancelFunc
	done   chan error
}

type agentProc struct {
	a      *siteagent.Agent
	phases siteagent.PhaseRunner
	cancel context.CancelFunc
	done   chan error
}

// reconnect makes gRPC redial a lost coordinator within a quarter second
// (its default backoff grows to two minutes, far longer than a simulated
// partition or restart lasts). gRPC times it on the wall clock.
var reconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 250 * time.Millisecond},
	MinConnectTimeout: 2 * time.Second,
})

// Start launches the coordinator (state under dir) and every agent.
func Start(ctx context.Context, cfg Config, dir string, opts Options) (*Cluster, error) {
	cfg = cfg.withSites()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.New()
	}
	if opts.Network == nil {
		n, err := NetworkFor(cfg.Transport)
		if err != nil {
			return nil, err
		}
		opts.Network = n
	}
	if opts.Trainers == nil {
		opts.Trainers = logregTrainers(cfg.Logreg, opts.Clock, opts.Compute)
	}
	c := &Cluster{cfg: cfg, opts: opts, dir: dir, names: cfg.SiteIDs()}
	if opts.Kits == nil && cfg.TLS {
		k, err := ProvisionKits(filepath.Join(dir, "pki"), c.names, opts.Clock)
		if err != nil {
			return nil, err
		}
		c.opts.Kits = k
	}
	for i, name := range c.names {
		tr, err := opts.Trainers(i, name)
		if err != nil {
			return nil, fmt.Errorf("site %s trainers: %w", name, err)
		}
		c.trainers = append(c.trainers, tr)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	if err := c.StartCoordinator(); err != nil {
		c.cancel()
		return nil, err
	}
	for i := range c.names {
		if err := c.StartAgent(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// logregTrainers builds each site's built-in logreg trainer: on b's device
// (device.LogregTrainer) when b is an OpenCL backend, else on the CPU.
func logregTrainers(base logreg.Config, clk clock.Clock, b *device.Backend) func(int, string) (map[string]model.Trainer, error) {
	return func(i int, _ string) (map[string]model.Trainer, error) {
		cfg := base
		cfg.Site = i
		t, err := logreg.New(cfg, clk)
		if err != nil {
			return nil, err
		}
		if b == nil || !b.OnDevice() {
			return map[string]model.Trainer{"logreg": t}, nil
		}
		dt, err := device.NewLogregTrainer(t, b)
		if err != nil {
			return nil, err
		}
		return map[string]model.Trainer{"logreg": dt}, nil
	}
}

func (c *Cluster) coordinatorConfig() coordinator.Config {
	cc := coordinator.DefaultConfig()
	cc.ID, cc.Insecure, cc.DataDir = CoordinatorID, c.opts.Kits == nil, filepath.Join(c.dir, "coordinator")
	cc.Listen = "127.0.0.1:0"
	cc.HeartbeatInterval, cc.HeartbeatTimeout = c.cfg.HeartbeatInterval, c.cfg.HeartbeatTimeout
	cc.StopGrace = c.cfg.StopGrace
	cc.Gossip.Enabled = c.cfg.Gossip
	cc.Gossip.Bind = "127.0.0.1:0"
	cc.Jobs = []coordinator.JobSpec{c.cfg.Job}
	return cc
}

// StartCoordinator starts the coordinator on the cluster's state
// directory; a coordinator started again after StopCoordinator resumes the
// stored jobs from their last committed round, at the same address.
func (c *Cluster) StartCoordinator() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.coord != nil {
		return fmt.Errorf("cluster: coordinator already running")
	}
	opts := coordinator.Options{Logger: c.opts.Logger, Clock: c.opts.Clock, OnCommit: c.opts.OnCommit, Secure: c.opts.Secure}
	cc := c.coordinatorConfig()
	if c.opts.Coordinator != nil {
		c.opts.Coordinator(&cc, &opts)
	}
	var watcher *pki.CRLWatcher
	if k := c.opts.Kits; k != nil {
		var err error
		if watcher, err = coordinator.UseKit(k.CoordinatorKit(), &cc, &opts); err != nil {
			return err
		}
		k.countRejections(opts.Security.TLS)
		k.watch(watcher)
	}
	lis, err := c.opts.Network.Listen()
	if err != nil {
		return err
	}
	opts.Listener = lis
	co, err := coordinator.New(cc, opts)
	if err != nil {
		lis.Close()
		return err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	p := &coordProc{c: co, cancel: cancel, done: make(chan error, 1)}
	if watcher != nil {
		go watcher.Run(ctx)
	}
	go func() { p.done <- co.Run(ctx) }()
	c.coord = p
	return nil
}

// StopCoordinator stops the coordinator gracefully (as a process exit
// would: its store keeps every committed round) and waits for it.
func (c *Cluster) StopCoordinator() error {
	c.mu.Lock()
	p := c.coord
	c.coord = nil
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	p.cancel()
	return <-p.done
}

// RestartCoordinator stops the coordinator and starts it again.
func (c *Cluster) RestartCoordinator() error {
	if err := c.StopCoordinator(); err != nil {
		return fmt.Errorf("cluster: stop coordinator: %w", err)
	}
	return c.StartCoordinator()
}

// Coordinator returns the running coordinator (nil while it is stopped).
func (c *Cluster) Coordinator() *coordinator.Coordinator {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.coord == nil {
		return nil
	}
	return c.coord.c
}

// Kits returns the consortium's credentials (nil without mTLS).
func (c *Cluster) Kits() *Kits { return c.opts.Kits }

// Network returns the cluster's network.
func (c *Cluster) Network() Network { return c.opts.Network }

// Sites returns the site names in order.
func (c *Cluster) Sites() []string { return c.names }

// Trainers returns site i's trainers.
func (c *Cluster) Trainers(i int) map[string]model.Trainer { return c.trainers[i] }

// StartAgent starts (or restarts) site i's agent.
func (c *Cluster) StartAgent(i int) error {
	co := c.Coordinator()
	if co == nil {
		return fmt.Errorf("cluster: start agent %s: no coordinator", c.names[i])
	}
	ac := siteagent.DefaultConfig()
	ac.SiteID, ac.Insecure = c.names[i], c.opts.Kits == nil
	ac.Coordinator = co.Addr().String()
	if _, _, err := net.SplitHostPort(ac.Coordinator); err != nil {
		// An in-memory listener has no port; the dialer ignores the
		// address, and TLS checks the coordinator certificate's localhost.
		ac.Coordinator = "localhost:0"
	}
	ac.Gossip.Enabled = c.cfg.Gossip
	ac.Backoff, ac.StopGrace = c.cfg.Backoff, c.cfg.StopGrace
	if c.opts.Agent != nil {
		c.opts.Agent(i, &ac)
	}
	ao := siteagent.Options{Logger: c.opts.Logger, Clock: c.opts.Clock, Trainers: c.trainers[i],
		Dialer: c.opts.Network.Dialer(c.names[i]), Results: c.opts.Results, DialOptions: []grpc.DialOption{reconnect},
		Compute: c.opts.Compute}
	if c.opts.Slots != nil {
		ao.DeviceSlots = c.opts.Slots
	}
	if c.opts.Phases != nil {
		ao.Phases = c.opts.Phases(i, c.names[i])
	}
	if c.opts.AgentOptions != nil {
		c.opts.AgentOptions(i, &ao)
	}
	var watcher *pki.CRLWatcher
	if k := c.opts.Kits; k != nil {
		var err error
		if watcher, err = siteagent.UseKit(k.SiteKit(c.names[i]), &ac, &ao); err != nil {
			return err
		}
		k.watch(watcher)
	}
	a, err := siteagent.New(ac, ao)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	p := &agentProc{a: a, phases: ao.Phases, cancel: cancel, done: make(chan error, 1)}
	if watcher != nil {
		go watcher.Run(ctx)
	}
	go func() { p.done <- a.Run(ctx) }()
	c.mu.Lock()
	for len(c.agents) <= i {
		c.agents = append(c.agents, nil)
	}
	c.agents[i] = p
	c.mu.Unlock()
	return nil
}

// Agent returns site i's running agent and its phase runner (the
// SecureRunner with kits); nil while it is stopped.
func (c *Cluster) Agent(i int) (*siteagent.Agent, siteagent.PhaseRunner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= len(c.agents) || c.agents[i] == nil {
		return nil, nil
	}
	return c.agents[i].a, c.agents[i].phases
}

// Index returns the index of the site called name (-1: none).
func (c *Cluster) Index(name string) int { return slices.Index(c.names, name) }

// StopAgent stops site i's agent (as a crash would, from the coordinator's
// point of view, when gossip is off) and waits for it.
func (c *Cluster) StopAgent(i int) error {
	c.mu.Lock()
	var p *agentProc
	if i < len(c.agents) {
		p = c.agents[i]
		c.agents[i] = nil
	}
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	p.cancel()
	return <-p.done
}

// Wait blocks until the configured job ends.
func (c *Cluster) Wait(ctx context.Context) (coordinator.JobStatus, error) {
	return c.WaitJob(ctx, c.cfg.Job.ID)
}

// WaitJob blocks until job ends, following the coordinator across
// restarts.
func (c *Cluster) WaitJob(ctx context.Context, job string) (coordinator.JobStatus, error) {
	for {
		co := c.Coordinator()
		if co == nil {
			select {
			case <-ctx.Done():
				return coordinator.JobStatus{}, ctx.Err()
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		st, err := co.Wait(ctx, job)
		if err == nil || ctx.Err() != nil || c.Coordinator() == co {
			return st, err
		}
	}
}

// Close stops every agent and the coordinator.
func (c *Cluster) Close() error {
	var errs []error
	for i := range c.names {
		errs = append(errs, c.StopAgent(i))
	}
	errs = append(errs, c.StopCoordinator())
	c.cancel()
	return errors.Join(errs...)
}
