package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
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
}

// Cluster is a running coordinator and its agents.
type Cluster struct {
	cfg      Config
	opts     Options
	dir      string
	coord    *coordinator.Coordinator
	trainers []map[string]model.Trainer
	names    []string

	ctx      context.Context
	cancel   context.CancelFunc
	coordWG  sync.WaitGroup
	coordErr error

	mu     sync.Mutex
	agents []*agentProc
}

type agentProc struct {
	cancel context.CancelFunc
	done   chan error
}

// Start launches the coordinator (state under dir) and every agent.
func Start(ctx context.Context, cfg Config, dir string, opts Options) (*Cluster, error) {
	cfg = cfg.withSites()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Network == nil {
		n, err := NetworkFor(cfg.Transport)
		if err != nil {
			return nil, err
		}
		opts.Network = n
	}
	if opts.Trainers == nil {
		opts.Trainers = logregTrainers(cfg.Logreg, opts.Clock)
	}
	c := &Cluster{cfg: cfg, opts: opts, dir: dir, names: SiteNames(cfg.Sites)}
	for i, name := range c.names {
		tr, err := opts.Trainers(i, name)
		if err != nil {
			return nil, fmt.Errorf("site %s trainers: %w", name, err)
		}
		c.trainers = append(c.trainers, tr)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	if err := c.startCoordinator(); err != nil {
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

func logregTrainers(base logreg.Config, clk clock.Clock) func(int, string) (map[string]model.Trainer, error) {
	return func(i int, _ string) (map[string]model.Trainer, error) {
		cfg := base
		cfg.Site = i
		t, err := logreg.New(cfg, clk)
		if err != nil {
			return nil, err
		}
		return map[string]model.Trainer{"logreg": t}, nil
	}
}

func (c *Cluster) coordinatorConfig() coordinator.Config {
	cc := coordinator.DefaultConfig()
	cc.ID, cc.Insecure, cc.DataDir = "sim-coordinator", true, filepath.Join(c.dir, "coordinator")
	cc.Listen = "127.0.0.1:0"
	cc.HeartbeatInterval, cc.HeartbeatTimeout = c.cfg.HeartbeatInterval, c.cfg.HeartbeatTimeout
	cc.StopGrace = coordinator.Duration(2 * time.Second)
	cc.Gossip.Enabled = c.cfg.Gossip
	cc.Gossip.Bind = "127.0.0.1:0"
	cc.Jobs = []coordinator.JobSpec{c.cfg.Job}
	return cc
}

func (c *Cluster) startCoordinator() error {
	lis, err := c.opts.Network.Listen()
	if err != nil {
		return err
	}
	co, err := coordinator.New(c.coordinatorConfig(), coordinator.Options{Logger: c.opts.Logger, Clock: c.opts.Clock,
		Listener: lis, OnCommit: c.opts.OnCommit})
	if err != nil {
		lis.Close()
		return err
	}
	c.coord = co
	c.coordWG.Add(1)
	go func() {
		defer c.coordWG.Done()
		c.coordErr = co.Run(c.ctx)
	}()
	return nil
}

// Coordinator returns the running coordinator.
func (c *Cluster) Coordinator() *coordinator.Coordinator { return c.coord }

// Sites returns the site names in order.
func (c *Cluster) Sites() []string { return c.names }

// Trainers returns site i's trainers.
func (c *Cluster) Trainers(i int) map[string]model.Trainer { return c.trainers[i] }

// StartAgent starts (or restarts) site i's agent.
func (c *Cluster) StartAgent(i int) error {
	ac := siteagent.DefaultConfig()
	ac.SiteID, ac.Insecure = c.names[i], true
	ac.Coordinator = c.coord.Addr().String()
	if _, _, err := net.SplitHostPort(ac.Coordinator); err != nil {
		ac.Coordinator = "bufconn:0" // an in-memory listener has no port
	}
	ac.Gossip.Enabled = c.cfg.Gossip
	ac.Backoff = siteagent.BackoffConfig{Initial: siteagent.Duration(50 * time.Millisecond), Max: siteagent.Duration(time.Second), Multiplier: 2, Jitter: 0.2}
	ac.StopGrace = siteagent.Duration(2 * time.Second)
	a, err := siteagent.New(ac, siteagent.Options{Logger: c.opts.Logger, Clock: c.opts.Clock, Trainers: c.trainers[i],
		Dialer: c.opts.Network.Dialer(c.names[i]), Results: c.opts.Results})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	p := &agentProc{cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- a.Run(ctx) }()
	c.mu.Lock()
	for len(c.agents) <= i {
		c.agents = append(c.agents, nil)
	}
	c.agents[i] = p
	c.mu.Unlock()
	return nil
}

// StopAgent stops site i's agent (as a crash would, from the coordinator's
// point of view, when gossip is off) and waits for it.
func (c *Cluster) StopAgent(i int) error {
	c.mu.Lock()
	p := c.agents[i]
	c.agents[i] = nil
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	p.cancel()
	return <-p.done
}

// Wait blocks until the job ends.
func (c *Cluster) Wait(ctx context.Context) (coordinator.JobStatus, error) {
	return c.coord.Wait(ctx, c.cfg.Job.ID)
}

// Close stops every agent and the coordinator.
func (c *Cluster) Close() error {
	var errs []error
	for i := range c.names {
		if i < len(c.agents) {
			errs = append(errs, c.StopAgent(i))
		}
	}
	c.cancel()
	c.coordWG.Wait()
	errs = append(errs, c.coordErr)
	return errors.Join(errs...)
}
