package coordinator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/internal/memlimit"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// Options are the coordinator's injected parts. The zero value is usable.
type Options struct {
	// Logger receives logs (nil: discard).
	Logger *slog.Logger
	// Clock is the time source (nil: the wall clock).
	Clock clock.Clock
	// Rand is the nonce source (nil: crypto/rand).
	Rand io.Reader
	// Security overrides the transport credentials; the zero value follows
	// Config.Insecure (TLS credentials must be given when it is false).
	Security protocol.Security
	// Authenticator decides site identities (nil: trust the claim, which
	// is allowed only in insecure mode).
	Authenticator protocol.Authenticator
	// Listener serves gRPC instead of listening on Config.Listen (for
	// bufconn and fault-injecting transports).
	Listener net.Listener
	// ServerOptions are extra gRPC server options (interceptors...).
	ServerOptions []grpc.ServerOption
	// Secure enables secure aggregation (nil: none; UseTLS sets it).
	Secure *SecureConfig
	// OnCommit, when not nil, is called with each durable round's summary,
	// on the coordinator's goroutine: it must not block.
	OnCommit func(RoundSummary)
	// CheckModelConfig, when not nil, checks a train job's model_config at
	// submission (see ModelConfigChecker).
	CheckModelConfig ModelConfigChecker
	// AdminAuth, when not nil, replaces the admin API's caller check
	// (default: an admin certificate with TLS, loopback callers in
	// insecure mode).
	AdminAuth AdminAuthorizer

	// Memory, when not nil, raises the process's soft memory limit with
	// the size of the models uploaded (the coordinator command installs
	// one; simulations running agents in the same process must not).
	Memory *memlimit.Governor

	// guard is the access check UseTLS installed; New directs its
	// refusals to the audit log.
	guard *callGuard
}

// Coordinator is the engine's driver: it runs the Engine in one goroutine
// and does its I/O: the gRPC services, gossip, the store and checkpoints,
// the unmasking of secure rounds, logs and metrics.
type Coordinator struct {
	cfg      Config
	opts     Options
	log      *slog.Logger
	clk      clock.Clock
	store    *Store
	ckpts    *Checkpoints
	engine   *engine.Engine
	lis      net.Listener
	calls    chan func()
	unmasked chan engine.Unmasked
	stopped  chan struct{}
	draining chan struct{}
	uploads  chan struct{}
	sessions map[string]*session
	bySite   map[string]*session
	waiters  map[string][]chan JobStatus
	gossip   string
	fatal    error
	ops      operations
	refusals chan engine.CallRefused
	// appendAudit, when set, writes audit entries instead of the store's
	// Append (tests fail it); auditPending holds the entries a failed
	// write kept to retry.
	appendAudit  func(...AuditEntry) error
	auditPending []AuditEntry
}

// maxPendingAudit bounds the audit entries kept while the store cannot
// take them (a full disk); beyond it the oldest are dropped, with an error.
const maxPendingAudit = 100_000

// session is one joined agent connection.
type session struct {
	id, site string
	tasks    chan engine.Task
	closed   chan struct{}
}

// New validates cfg, opens the store and checkpoints under cfg.DataDir,
// resumes the jobs the store holds, submits cfg.Jobs not in the store yet,
// and listens. Run must be called to serve.
func New(cfg Config, opts Options) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.New()
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Security == (protocol.Security{}) {
		opts.Security.Insecure = cfg.Insecure
	}
	if opts.Authenticator == nil {
		if !opts.Security.Insecure {
			return nil, fmt.Errorf("coordinator: a secure transport needs an Authenticator: %w", protocol.ErrNoCredentials)
		}
		opts.Authenticator = protocol.ClaimAuthenticator{}
	}
	c := &Coordinator{cfg: cfg, opts: opts, log: opts.Logger.With("component", "coordinator"), clk: opts.Clock,
		calls: make(chan func()), stopped: make(chan struct{}), draining: make(chan struct{}), uploads: make(chan struct{}, cfg.MaxConcurrentUploads),
		sessions: map[string]*session{}, bySite: map[string]*session{}, waiters: map[string][]chan JobStatus{},
		refusals: make(chan engine.CallRefused, refusalQueue), unmasked: make(chan engine.Unmasked, 1)}
	if opts.guard != nil {
		opts.guard.setReport(c.queueRefusal)
	}
	c.engine = engine.New(engine.Config{HeartbeatTimeout: cfg.HeartbeatTimeout.D(), Secure: opts.Secure.engine(spoolDir(cfg)), Rand: opts.Rand, Float64SumMax: cfg.Float64SumMax})
	c.ops = operations{started: c.clk.Now()}
	c.ops.metrics = newCoordMetrics(c)
	if err := c.open(); err != nil {
		return nil, err
	}
	if err := c.restore(); err != nil {
		c.store.Close()
		return nil, err
	}
	c.lis = opts.Listener
	if c.lis == nil {
		lis, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			c.store.Close()
			return nil, fmt.Errorf("coordinator listen %s: %w", cfg.Listen, err)
		}
		c.lis = lis
	}
	return c, nil
}

func (c *Coordinator) open() error {
	ck, err := OpenCheckpoints(filepath.Join(c.cfg.DataDir, "checkpoints"))
	if err != nil {
		return err
	}
	// Upload spools are unlinked at creation: nothing is left to clean.
	if err := os.MkdirAll(spoolDir(c.cfg), 0o700); err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	st, err := OpenStore(filepath.Join(c.cfg.DataDir, "state.db"), 5*time.Second)
	if err != nil {
		return err
	}
	c.store, c.ckpts = st, ck
	return nil
}

// spoolDir holds uploads and masked inputs being received (see spool).
func spoolDir(cfg Config) string { return filepath.Join(cfg.DataDir, "spool") }

// restore resumes stored running jobs and submits new configured ones.
func (c *Coordinator) restore() error {
	recs, err := c.store.Jobs()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	now := c.clk.Now()
	if err := c.restoreRevoked(now); err != nil {
		return err
	}
	for _, rec := range recs {
		known[rec.Spec.ID] = true
		if rec.State == JobDone || rec.State == JobFailed {
			continue
		}
		if err := c.resume(rec, now); err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				return err
			}
			// A missing or corrupt checkpoint fails that job, with the
			// reason, and leaves the coordinator serving the others: a
			// bad file must not keep the whole consortium down.
			if err := c.failUnresumable(rec, err); err != nil {
				return err
			}
		}
	}
	for _, spec := range c.cfg.Jobs {
		if known[spec.ID] {
			continue
		}
		if err := c.submit(spec, now); err != nil {
			return err
		}
	}
	c.flushAudit()
	return nil
}

// restoreRevoked tells the engine which sites earlier incarnations refused
// as revoked (from the audit log), so that resumed rounds do not wait for
// them until the select deadline: a revoked agent stops calling.
func (c *Coordinator) restoreRevoked(now time.Time) error {
	log, err := c.store.AuditLog()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range log {
		if e.Event == EventCallRefused && e.Reason == string(engine.ReasonCertRevoked) && !strings.Contains(e.Site, "/") && !seen[e.Site] {
			seen[e.Site] = true
			if err := c.engine.Step(now, engine.SiteRevoked{Site: e.Site}); err != nil {
				return err
			}
		}
	}
	return nil
}

// failUnresumable records as failed a job whose checkpoint cannot be
// read back (cause wraps ErrCheckpoint), with an audit entry.
func (c *Coordinator) failUnresumable(rec JobRecord, cause error) error {
	rec.State, rec.Err = JobFailed, cause.Error()
	if err := c.store.PutJob(rec); err != nil {
		return fmt.Errorf("resume job %s: record failure: %w", rec.Spec.ID, err)
	}
	e := AuditEntry{Time: c.clk.Now(), Event: EventJobEnd, Job: rec.Spec.ID, Round: rec.Committed,
		Reason: string(JobFailed), Detail: cause.Error()}
	if err := c.store.Append(e); err != nil {
		return err
	}
	c.log.Error("job ended", "job", rec.Spec.ID, "state", JobFailed, "err", rec.Err)
	return nil
}

func (c *Coordinator) resume(rec JobRecord, now time.Time) error {
	if rec.Spec.Kind != JobTrain && rec.Committed >= 1 {
		return c.endResumed(rec) // results are durable: the job is done
	}
	if rec.Committed < 0 {
		return c.submitNoStore(rec.Spec, now)
	}
	global, _, err := c.ckpts.Read(rec.Checkpoint)
	if err != nil {
		return fmt.Errorf("resume job %s: %w", rec.Spec.ID, err)
	}
	if h := global.Hash(); h != rec.GlobalHash {
		return fmt.Errorf("resume job %s: checkpoint hash %s, store says %s: %w", rec.Spec.ID, h, rec.GlobalHash, ErrCheckpoint)
	}
	var state model.Weights
	if rec.StrategyCheckpoint != "" {
		if state, _, err = c.ckpts.Read(rec.StrategyCheckpoint); err != nil {
			return fmt.Errorf("resume job %s: %w", rec.Spec.ID, err)
		}
	}
	ema, err := c.readEMA(rec)
	if err != nil {
		return fmt.Errorf("resume job %s: %w", rec.Spec.ID, err)
	}
	c.log.Info("resumed job", "job", rec.Spec.ID, "round", rec.Committed, "hash", rec.GlobalHash, "ema", rec.EMAHash)
	return c.engine.Step(now, engine.Resume{Spec: rec.Spec, Point: engine.ResumePoint{Committed: rec.Committed, Global: global, StrategyState: state, EMA: ema}})
}

func (c *Coordinator) submit(spec JobSpec, now time.Time) error {
	if err := spec.Validate("job"); err != nil {
		return err
	}
	spec, err := c.resolve(spec)
	if err != nil {
		return err
	}
	if err := c.store.PutJob(JobRecord{Spec: spec, State: JobPending, Committed: -1}); err != nil {
		return err
	}
	return c.submitNoStore(spec, now)
}

func (c *Coordinator) submitNoStore(spec JobSpec, now time.Time) error {
	var initial *model.Weights
	if spec.Init.Checkpoint != "" {
		w, err := LoadInitial(spec.Init.Checkpoint)
		if err != nil {
			return fmt.Errorf("job %s: %w", spec.ID, err)
		}
		initial = &w
	}
	if spec.Init.Model != "" {
		w, err := c.initialModel(spec)
		if err != nil {
			return err
		}
		initial = w
	}
	return c.engine.Step(now, engine.Submit{Spec: spec, Initial: initial})
}

// Addr returns the gRPC listen address.
func (c *Coordinator) Addr() net.Addr { return c.lis.Addr() }

// Submit adds a job to a running coordinator (the admin API's entry point).
// A spec in mode local or finetune becomes one job per site (SubmitJobs).
func (c *Coordinator) Submit(ctx context.Context, spec JobSpec) error {
	_, err := c.SubmitJobs(ctx, spec)
	return err
}

// Wait blocks until job ends (or ctx ends) and returns its final status.
func (c *Coordinator) Wait(ctx context.Context, jobID string) (JobStatus, error) {
	// A job that ended in an earlier run of this coordinator is not loaded
	// into the Engine; its final status is in the store.
	if rec, found, err := c.store.Job(jobID); err != nil {
		return JobStatus{}, err
	} else if found && (rec.State == JobDone || rec.State == JobFailed) {
		return JobStatus{ID: jobID, State: rec.State, Committed: rec.Committed, Rounds: rec.Spec.Rounds,
			Round: rec.Committed, GlobalHash: rec.GlobalHash, Err: rec.Err, EMAOutput: rec.EMAHash}, nil
	}
	ch := make(chan JobStatus, 1)
	err := c.do(ctx, func() {
		if st, ok := c.engine.Job(jobID); ok && (st.State == JobDone || st.State == JobFailed) {
			ch <- st
			return
		}
		c.waiters[jobID] = append(c.waiters[jobID], ch)
	})
	if err != nil {
		return JobStatus{}, err
	}
	select {
	case st := <-ch:
		return st, nil
	case <-ctx.Done():
		return JobStatus{}, ctx.Err()
	case <-c.stopped:
		return JobStatus{}, fmt.Errorf("coordinator stopped: %w", protocol.ErrUnavailable)
	}
}

// Jobs returns every job's status.
func (c *Coordinator) Jobs(ctx context.Context) ([]JobStatus, error) {
	var out []JobStatus
	err := c.do(ctx, func() { out = c.engine.Jobs() })
	return out, err
}

// Counters returns the running totals.
func (c *Coordinator) Counters(ctx context.Context) (Counters, error) {
	var out Counters
	err := c.do(ctx, func() { out = c.engine.Counters() })
	return out, err
}

// Rounds returns the committed rounds of a job from the store.
func (c *Coordinator) Rounds(jobID string) ([]RoundRecord, error) { return c.store.Rounds(jobID) }

// AuditLog returns the audit log from the store.
func (c *Coordinator) AuditLog() ([]AuditEntry, error) { return c.store.AuditLog() }

// Global returns the committed global model of a job.
func (c *Coordinator) Global(jobID string) (model.Weights, error) {
	rec, found, err := c.store.Job(jobID)
	if err != nil || !found || rec.Checkpoint == "" {
		return model.Weights{}, errors.Join(err, fmt.Errorf("job %s has no committed model: %w", jobID, protocol.ErrNotFound))
	}
	w, _, err := c.ckpts.Read(rec.Checkpoint)
	return w, err
}

// do runs fn on the loop goroutine and waits for it.
func (c *Coordinator) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case c.calls <- func() { fn(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stopped:
		return fmt.Errorf("coordinator stopped: %w", protocol.ErrUnavailable)
	}
	select {
	case <-done:
		return nil
	case <-c.stopped:
		return fmt.Errorf("coordinator stopped: %w", protocol.ErrUnavailable)
	}
}

// loop owns the Engine until ctx ends or persisting fails.
func (c *Coordinator) loop(ctx context.Context) error {
	timer := c.clk.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.flush()
		if c.fatal != nil {
			return c.fatal
		}
		if next, ok := c.engine.NextDeadline(); ok {
			timer.Reset(max(next.Sub(c.clk.Now()), 0))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			return nil
		case fn := <-c.calls:
			c.drainRefusals() // a refusal queued before a call is seen by it
			fn()
		case rf := <-c.refusals:
			c.callRefused(rf)
		case m := <-c.unmasked:
			c.step(m)
		case <-timer.C():
			c.engine.Tick(c.clk.Now())
			c.endSilentSessions()
		}
	}
}

// endSilentSessions ends the session of every site the engine marked down
// by itself (a heartbeat timeout). An agent whose connection outlived a
// silent partition or a stall (no reset reached it) keeps heartbeating on
// its session, and the engine, which takes a site back only when it
// joins, would never give it a task again. With the session ended, the
// agent's next heartbeat or task read fails with an unknown session and it
// rejoins (found by the soak in network namespaces, issue 17).
func (c *Coordinator) endSilentSessions() {
	for _, s := range c.engine.Sites() {
		if sess, ok := c.bySite[s.ID]; ok && !s.Up {
			c.closeSession(sess)
			c.log.Warn("site marked down by the engine; its session ended so that it rejoins", "site", s.ID)
		}
	}
}

// step gives the Engine one input at the current time (on the loop).
func (c *Coordinator) step(m engine.Msg) error { return c.engine.Step(c.clk.Now(), m) }

// flush carries out the Engine's effects until there are none.
func (c *Coordinator) flush() {
	for {
		effs := c.engine.Ready()
		if len(effs) == 0 {
			return
		}
		var audit []AuditEntry
		for _, ef := range effs {
			switch ef := ef.(type) {
			case engine.SendTask:
				c.deliver(ef.Task)
			case engine.CommitRound:
				if err := c.persist(ef); err != nil {
					c.log.Error("persist round failed; stopping", "job", ef.Job, "round", ef.Round, "err", err)
					c.fatal = err
					return
				}
				c.step(engine.Committed{Job: ef.Job, Round: ef.Round})
			case engine.CommitResults:
				if err := c.persistResults(ef); err != nil {
					c.log.Error("persist results failed; stopping", "job", ef.Job, "round", ef.Round, "err", err)
					c.fatal = err
					return
				}
				c.step(engine.Committed{Job: ef.Job, Round: ef.Round})
			case engine.Audit:
				audit = append(audit, ef.Entry)
				c.logAudit(ef.Entry)
			case engine.JobEnded:
				c.jobEnded(ef)
			case engine.Unmask:
				c.unmask(ef)
			case engine.PhaseTimed:
				c.ops.metrics.phaseTimed(ef)
			}
		}
		c.writeAudit(audit)
	}
}

// writeAudit appends entries after those an earlier failed write kept; on
// a failure (a full disk) it keeps them all to retry at the next flush
// rather than lose them (found by the soak, issue 17).
func (c *Coordinator) writeAudit(entries []AuditEntry) {
	if len(c.auditPending) > 0 {
		entries = append(c.auditPending, entries...)
		c.auditPending = nil
	}
	if len(entries) == 0 {
		return
	}
	write := c.store.Append
	if c.appendAudit != nil {
		write = c.appendAudit
	}
	err := write(entries...)
	if err == nil {
		return
	}
	if drop := len(entries) - maxPendingAudit; drop > 0 {
		c.log.Error("audit entries dropped: the store has refused them too long", "entries", drop)
		entries = entries[drop:]
	}
	c.auditPending = entries
	c.log.Error("audit log append failed; entries kept to retry", "entries", len(entries), "err", err)
}

// flushAudit writes the effects of start-up (before the loop runs).
func (c *Coordinator) flushAudit() {
	c.flush()
}

func (c *Coordinator) logAudit(e AuditEntry) {
	lvl := slog.LevelInfo
	if e.Event == EventRejected || e.Event == EventDropout || e.Event == EventAttempt {
		lvl = slog.LevelWarn
	}
	c.log.Log(context.Background(), lvl, e.Event, "job", e.Job, "round", e.Round, "attempt", e.Attempt,
		"site", e.Site, "reason", e.Reason, "detail", e.Detail)
	c.noteAudit(e)
}

// persist writes a round's checkpoints and then its records in one store
// transaction: the round is committed once that transaction is.
func (c *Coordinator) persist(ef engine.CommitRound) error {
	meta := map[string]string{"job": ef.Job, "round": strconv.Itoa(ef.Round), "hash": ef.Hash}
	name, err := c.ckpts.Write(ef.Global, meta)
	if err != nil {
		return err
	}
	rec := JobRecord{State: JobRunning, Committed: ef.Round, GlobalHash: ef.Hash, Checkpoint: name}
	if ef.StrategyState.Len() > 0 {
		if rec.StrategyCheckpoint, err = c.ckpts.Write(ef.StrategyState, map[string]string{"job": ef.Job, "round": strconv.Itoa(ef.Round)}); err != nil {
			return err
		}
	}
	if rec.EMACheckpoint, err = c.writeEMA(ef, name); err != nil {
		return err
	}
	rec.EMAHash = ef.EMAHash
	old, _, err := c.store.Job(ef.Job)
	if err != nil {
		return err
	}
	rec.Spec = old.Spec
	if err := c.store.CommitRound(rec, RoundRecord{Summary: ef.Summary, Checkpoint: name, StrategyCheckpoint: rec.StrategyCheckpoint,
		EMACheckpoint: rec.EMACheckpoint}); err != nil {
		return err
	}
	c.indexModel(ef, name)
	c.indexEMA(ef, rec.EMACheckpoint)
	if c.opts.OnCommit != nil {
		c.opts.OnCommit(ef.Summary)
	}
	c.log.Info("committed round", "job", ef.Job, "round", ef.Round, "hash", ef.Hash, "accepted", len(ef.Summary.Accepted),
		"metrics", metricsString(ef.Summary.Metrics))
	return nil
}

func metricsString(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf("%s=%.4f ", k, m[k])
	}
	return s
}

func (c *Coordinator) jobEnded(ef engine.JobEnded) {
	rec, _, err := c.store.Job(ef.Job)
	if err == nil {
		rec.State, rec.Err = ef.State, ef.Err
		err = c.store.PutJob(rec)
	}
	if err != nil {
		c.log.Error("store job end", "job", ef.Job, "err", err)
	}
	c.log.Info("job ended", "job", ef.Job, "state", ef.State, "err", ef.Err)
	if st, ok := c.engine.Job(ef.Job); ok {
		for _, ch := range c.waiters[ef.Job] {
			ch <- st
		}
	}
	delete(c.waiters, ef.Job)
}

// deliver queues a task on its site's session, if the site is connected;
// a site that is not gets it again when its task stream reconnects.
func (c *Coordinator) deliver(t engine.Task) {
	s, ok := c.bySite[t.Site]
	if !ok {
		return
	}
	select {
	case s.tasks <- t:
	default:
		c.log.Warn("task queue full; site gets the task on reconnect", "site", t.Site, "task", t.ID)
	}
}
