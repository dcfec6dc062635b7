package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/procfs"
)

// runner carries out one run: the processes, the proxies, the fault
// executor, the job submitter and the history they collect.
type runner struct {
	cfg    Config
	log    *slog.Logger
	be     backend
	start  time.Time
	coord  *process
	agents []*process
	// disk is the coordinator's data folder as a tmpfs (nil: a plain folder).
	disk *dataDisk

	// runCtx ends when the run stops (no restarts after it).
	runCtx context.Context
	// coordMu serialises the coordinator's restarts (faults, service).
	coordMu sync.Mutex

	mu       sync.Mutex
	waiters  []*waiter
	hist     History
	samples  []Sample
	store    []StoreSample
	profiles []Profile
	ended    map[string]bool
}

type waiter struct {
	pred func(event) bool
	ch   chan event
}

// dispatch records the events the history needs and wakes waiters.
func (r *runner) dispatch(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case e.proc == r.coord && e.msg == "committed round":
		r.hist.Commits = append(r.hist.Commits, Commit{Time: e.t, Incarnation: e.inc, Job: e.str("job"), Round: toInt(e.m["round"]), Hash: e.str("hash")})
	case e.proc == r.coord && e.msg == "job ended":
		r.ended[e.str("job")] = true
		if _, ok := r.hist.JobEnds[e.str("job")]; !ok {
			r.hist.JobEnds[e.str("job")] = e.t
		}
	case e.proc == r.coord && e.str("level") == "ERROR" && strings.Contains(e.str("err"), "no space left on device"):
		r.hist.DiskErrors = append(r.hist.DiskErrors, LogLine{Time: e.t, Msg: e.msg + ": " + e.str("err")})
	case e.msg == "serving metrics":
		e.proc.setMetrics(e.inc, r.be.baseURL(e.proc, e.str("addr"))+"/metrics")
	case e.msg == "serving pprof":
		e.proc.setDebug(e.inc, r.be.baseURL(e.proc, e.str("addr")))
	case e.proc != r.coord && e.msg == "task received":
		r.hist.Tasks = append(r.hist.Tasks, e.t)
	case e.proc != r.coord && e.msg == "joined secure round":
		r.hist.Joined[e.proc.name] = append(r.hist.Joined[e.proc.name], Join{Time: e.t, Job: e.str("job"), Round: toInt(e.m["round"])})
	}
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if w.pred(e) {
			w.ch <- e
		} else {
			kept = append(kept, w)
		}
	}
	r.waiters = kept
}

func toInt(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// await waits for the first event matching pred, up to d.
func (r *runner) await(ctx context.Context, d time.Duration, pred func(event) bool) (event, bool) {
	w := &waiter{pred: pred, ch: make(chan event, 1)}
	r.mu.Lock()
	r.waiters = append(r.waiters, w)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		for i, x := range r.waiters {
			if x == w {
				r.waiters = append(r.waiters[:i], r.waiters[i+1:]...)
				break
			}
		}
		r.mu.Unlock()
	}()
	select {
	case e := <-w.ch:
		return e, true
	case <-time.After(d):
	case <-ctx.Done():
	}
	return event{}, false
}

// Result is a finished run: its history, the invariants and the figures.
type Result struct {
	Config     Config         `json:"config"`
	Plan       []Fault        `json:"plan"`
	History    History        `json:"history"`
	Invariants []Verdict      `json:"invariants"`
	Report     Report         `json:"report"`
	Samples    []Sample       `json:"-"`
	Trends     []TrendFigures `json:"trends"`
	// Store is the coordinator's store size on disk against commits.
	Store []StoreSample `json:"store"`
	// Profiles are the coordinator's heap profiles taken during the run.
	Profiles []Profile `json:"heap_profiles,omitempty"`
	// Mode is where the members ran, Setup how (in words), ModeNote why
	// the automatic mode picked it.
	Mode     string `json:"mode"`
	Setup    string `json:"setup"`
	ModeNote string `json:"mode_note,omitempty"`
}

// Run carries out a soak run with cfg and returns its result; err is only
// for a run that could not be carried out (an invariant broken is in the
// result). Everything it starts is stopped before it returns.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out, err := filepath.Abs(cfg.Out)
	if err != nil {
		return nil, err
	}
	cfg.Out = out
	if err := prepareOut(out); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runner{cfg: cfg, log: log, ended: map[string]bool{}, runCtx: runCtx}
	r.hist.Joined = map[string][]Join{}
	r.hist.JobEnds = map[string]time.Time{}
	defer r.cleanup()
	note, err := r.pickBackend(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("soak: provisioning", "config", cfg.String(), "mode", r.be.mode(), "out", out)
	if note != "" {
		log.Warn("soak: " + note)
	}
	if err := r.provision(); err != nil {
		return nil, err
	}
	if r.disk, err = newDataDisk(r.coordData(), cfg.DataLimit); err != nil {
		return nil, err
	}
	plan := Plan(cfg)
	if err := r.startAll(ctx); err != nil {
		return nil, err
	}
	r.start = time.Now()
	r.hist.Start = r.start
	r.hist.Load[0] = procfs.LoadAverage()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); r.sample(runCtx) }()
	go func() { defer wg.Done(); r.profile(runCtx) }()
	go func() { defer wg.Done(); r.chaos(runCtx, plan) }()
	jobs := r.submitJobs(ctx)
	r.hist.Interrupted = ctx.Err() != nil
	cancel()
	wg.Wait()
	r.hist.End = time.Now()
	r.hist.Load[1] = procfs.LoadAverage()
	r.stopAll()
	if err := r.be.teardown(); err != nil {
		log.Warn("soak: teardown", "err", err)
	}
	r.hist.Leftover = append(leftovers(out), r.be.leftovers()...)
	res, err := r.finish(plan, jobs)
	if res != nil {
		res.Mode, res.Setup, res.ModeNote = r.be.mode(), r.be.describe(), note
	}
	return res, err
}

// pickBackend sets up the run's backend for cfg.Mode; note says why the
// automatic mode did not pick containers (or netns).
func (r *runner) pickBackend(ctx context.Context) (note string, err error) {
	mode, note, err := chooseMode(r.cfg.Mode, func() string { return DockerReady(r.cfg.Image) }, NetnsReady)
	if err != nil {
		return "", err
	}
	switch mode {
	case ModeContainers:
		runID := fmt.Sprintf("%d-%d", r.cfg.Seed, time.Now().UnixNano()%1e9)
		r.be, err = newContainerBackend(ctx, r.cfg, runID)
	case ModeNetns:
		r.be, err = newNetnsBackend(ctx, r.cfg)
	default:
		r.be, err = newProcessBackend(r.cfg.Binary, r.cfg.Sites)
	}
	if err != nil {
		r.be = nil // a constructor that failed removed what it made
	}
	return note, err
}

// chooseMode resolves a configured mode: auto takes containers when
// docker says "" (ready), else netns when netns says "", else processes,
// and notes why; an explicit mode that cannot run is an error. The probes
// are called only when needed.
func chooseMode(mode string, docker, netns func() string) (string, string, error) {
	switch mode {
	case ModeAuto:
		dwhy := docker()
		if dwhy == "" {
			return ModeContainers, "", nil
		}
		nwhy := netns()
		if nwhy == "" {
			return ModeNetns, "containers mode not available (" + dwhy + "): running in network namespaces", nil
		}
		return ModeProcesses, "containers mode not available (" + dwhy + "), netns mode not available (" + nwhy + "): running processes", nil
	case ModeContainers:
		if why := docker(); why != "" {
			return "", "", fmt.Errorf("soak: containers mode: %s", why)
		}
	case ModeNetns:
		if why := netns(); why != "" {
			return "", "", fmt.Errorf("soak: netns mode: %s", why)
		}
	}
	return mode, "", nil
}

// startAll starts the coordinator, waits for it to listen, then the agents.
func (r *runner) startAll(ctx context.Context) error {
	logs := filepath.Join(r.cfg.Out, "logs")
	ckit := filepath.Join(r.pki(), "kits", "coordinator", "coordinator")
	r.coord = &process{name: "coordinator", role: "coordinator", site: -1, logDir: logs, r: r, workDir: r.cfg.Out,
		args: []string{"coordinator", "--config", filepath.Join(ckit, "coordinator.toml"), "--data-dir", r.coordData(), "--pprof-listen", r.be.debugListen()}}
	if err := r.be.create(ctx, r.coord); err != nil {
		return err
	}
	if err := r.startCoordinator(ctx, false); err != nil {
		return err
	}
	for i := range r.cfg.Sites {
		id := siteID(i)
		p := &process{name: id, role: "agent", site: i, logDir: logs, r: r, workDir: filepath.Join(r.cfg.Out, "sites", id),
			args: []string{"site-agent", "--config", filepath.Join(r.kit(id), "site-agent.toml"), "--record-updates", r.updates(id)}}
		r.agents = append(r.agents, p)
		if err := r.be.create(ctx, p); err != nil {
			return err
		}
		if err := p.start(); err != nil {
			return err
		}
	}
	return nil
}

// exited is called when an incarnation of p ends; a coordinator that
// stopped by itself (a full disk: it fails stop) is restarted, as its
// service manager would (systemd Restart=on-failure), until the run ends.
func (r *runner) exited(ctx context.Context, p *process, inc int, expected bool) {
	if p != r.coord || expected || ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	r.hist.Exits = append(r.hist.Exits, LogLine{Time: time.Now(), Msg: fmt.Sprintf("incarnation %d exited by itself", inc)})
	r.mu.Unlock()
	r.log.Warn("soak: the coordinator stopped by itself; restarting it in 1s", "incarnation", inc)
	go func() {
		if r.sleep(ctx, time.Second) != nil {
			return
		}
		r.coordMu.Lock()
		defer r.coordMu.Unlock()
		if ctx.Err() != nil || r.coord.pid() != 0 || r.coord.incarnation() != inc {
			return // restarted meanwhile
		}
		if err := r.startCoordinator(ctx, false); err != nil {
			r.log.Warn("soak: restart after an exit", "err", err)
		}
	}()
}

// startCoordinator starts a coordinator incarnation and waits until it
// listens; restart records when (the restarts after a kill -9, whose
// recovery the report times).
func (r *runner) startCoordinator(ctx context.Context, restart bool) error {
	r.mu.Lock()
	want := r.coord.inc + 1
	r.mu.Unlock()
	if err := r.coord.start(); err != nil {
		return err
	}
	e, ok := r.await(ctx, 30*time.Second, func(e event) bool {
		return e.proc == r.coord && e.inc == want && e.msg == "coordinator listening"
	})
	if ok && restart {
		r.mu.Lock()
		r.hist.CoordinatorListens = append(r.hist.CoordinatorListens, e.t)
		r.mu.Unlock()
	}
	if !ok {
		return fmt.Errorf("soak: coordinator incarnation %d did not listen within 30s (see %s)", want, filepath.Join(r.cfg.Out, "logs", "coordinator.log"))
	}
	return nil
}

func (r *runner) stopAll() {
	var wg sync.WaitGroup
	for _, p := range r.agents {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(5 * time.Second) }()
	}
	wg.Wait()
	if r.coord != nil {
		r.coord.stop(10 * time.Second)
	}
}

// cleanup kills whatever still runs (after a failure too), removes what
// the backend created and unmounts the coordinator's tmpfs.
func (r *runner) cleanup() {
	for _, p := range r.agents {
		p.kill()
	}
	if r.coord != nil {
		r.coord.kill()
	}
	if r.be != nil {
		if err := r.be.teardown(); err != nil {
			r.log.Warn("soak: teardown", "err", err)
		}
	}
	if err := r.disk.release(); err != nil {
		r.log.Warn("soak: unmount the coordinator's data folder", "err", err)
	}
}

// sample reads every live process's resources every SampleEvery.
func (r *runner) sample(ctx context.Context) {
	t := time.NewTicker(r.cfg.SampleEvery)
	defer t.Stop()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Since(r.start).Seconds()
		var ss []Sample
		for _, p := range append([]*process{r.coord}, r.agents...) {
			pid := r.be.hostPID(p)
			if pid == 0 {
				continue
			}
			s, ok := readProc(pid)
			if ok {
				s.T, s.Role, s.Name, s.Started = now, p.role, p.name, p.startedAt().Sub(r.start).Seconds()
				if rd, ok := scrape(ctx, client, p.metricsURL()); ok {
					s.Goroutines, s.HeapKB, s.LiveKB = rd.goroutines, rd.heapKB, rd.liveKB
				}
				ss = append(ss, s)
			}
		}
		bytes := r.disk.used()
		r.mu.Lock()
		r.samples = append(r.samples, ss...)
		r.store = append(r.store, StoreSample{T: now, Commits: len(r.hist.Commits), Bytes: bytes})
		r.mu.Unlock()
	}
}

// submitJobs submits jobs one after another until Duration has passed,
// each once the previous ended, and drains the last one. It returns the
// IDs submitted.
func (r *runner) submitJobs(ctx context.Context) []string {
	var ids []string
	dir := filepath.Join(r.cfg.Out, "jobs")
	_ = os.MkdirAll(dir, 0o755)
	for n := 1; time.Since(r.start) < r.cfg.Duration && ctx.Err() == nil; n++ {
		id := fmt.Sprintf("soak-%03d", n)
		path := filepath.Join(dir, id+".toml")
		if err := os.WriteFile(path, []byte(r.jobSpec(id, n)), 0o644); err != nil {
			r.log.Error("soak: write job", "err", err)
			return ids
		}
		if err := r.submit(ctx, path); err != nil {
			r.log.Error("soak: submit", "job", id, "err", err)
			return ids
		}
		ids = append(ids, id)
		r.log.Info("soak: job submitted", "job", id, "elapsed", time.Since(r.start).Round(time.Second))
		limit := time.Until(r.start.Add(r.cfg.Duration + r.cfg.Drain))
		if !r.waitJob(ctx, id, limit) {
			r.log.Warn("soak: job did not end before the drain limit", "job", id)
			return ids
		}
	}
	return ids
}

// submit runs `synthfed job submit` with the admin kit, retrying while the
// coordinator is down; a job that exists already was submitted.
func (r *runner) submit(ctx context.Context, path string) error {
	admin := r.admin()
	var last error
	for range 60 {
		b, err := exec.CommandContext(ctx, r.cfg.Binary, "job", "submit", "--config", admin, "--timeout", "5s", path).CombinedOutput()
		if err == nil || strings.Contains(string(b), "already exists") {
			return nil
		}
		last = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(b)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return last
}

// waitJob waits until the coordinator logs the job's end; every 10 s it
// also asks the coordinator (a kill -9 can land between the stored end
// and its log line).
func (r *runner) waitJob(ctx context.Context, id string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	next := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r.mu.Lock()
		ended := r.ended[id]
		r.mu.Unlock()
		if ended {
			return true
		}
		if time.Now().After(next) {
			next = time.Now().Add(10 * time.Second)
			if st := r.jobState(ctx, id); st == "done" || st == "failed" {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// jobState asks the coordinator for a job's state ("" when it cannot).
func (r *runner) jobState(ctx context.Context, id string) string {
	b, err := exec.CommandContext(ctx, r.cfg.Binary, "job", "status", id, "--json", "--config", r.admin(), "--timeout", "5s").Output()
	if err != nil {
		return ""
	}
	var v struct {
		Job struct {
			State string `json:"state"`
		} `json:"job"`
	}
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.Job.State
}

func (r *runner) admin() string { return filepath.Join(r.pki(), "kits", "admin", "soak", "admin.toml") }

// finish reads the store, runs the checks and builds the report.
func (r *runner) finish(plan []Fault, jobs []string) (*Result, error) {
	sc := secagg.DefaultConfig()
	v, err := readStore(r.coordData(), filepath.Join(r.cfg.Out, "saved-checkpoints"), jobs, r.updates, maxNorm, sc)
	if err != nil {
		return nil, fmt.Errorf("soak: read the coordinator's store: %w", err)
	}
	h := r.hist
	h.Stored, h.Jobs, h.Audit, h.Rounds = v.stored, v.jobs, v.audit, v.rounds
	res := &Result{Config: r.cfg, Plan: plan, History: h, Invariants: Check(h), Samples: r.samples, Store: r.store, Profiles: r.profiles}
	total := h.End.Sub(h.Start)
	res.Trends = []TrendFigures{Trend(r.samples, "coordinator", total), Trend(r.samples, "agent", total)}
	res.Report = buildReport(res)
	return res, nil
}

// errStopped reports a fault executor stopped by the end of the run.
var errStopped = errors.New("soak: stopped")

func (r *runner) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return errStopped
	case <-time.After(d):
		return nil
	}
}

func (r *runner) stopAgent(i int, sig syscall.Signal) { r.agents[i].signal(sig) }
