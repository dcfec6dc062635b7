package coordinator

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/internal/httpserve"
)

// coordMetrics are the coordinator's Prometheus metrics, in a registry of
// its own. Counters that the Engine keeps are read at scrape time through
// the loop; durations are observed as rounds end and as the engine reports
// its phases' (PhaseTimed). A nil
// *coordMetrics records nothing.
type coordMetrics struct {
	reg          *prometheus.Registry
	roundSeconds *prometheus.HistogramVec
	phaseSeconds *prometheus.HistogramVec
	taskFailures *prometheus.CounterVec
	events       *prometheus.CounterVec
}

func newCoordMetrics(c *Coordinator) *coordMetrics {
	reg := prometheus.NewRegistry()
	buckets := prometheus.ExponentialBuckets(0.01, 3, 12)
	m := &coordMetrics{
		reg: reg,
		roundSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "synthfed_coordinator_round_duration_seconds",
			Help: "Wall time of committed rounds, from selection to commit, by job kind.", Buckets: buckets}, []string{"kind"}),
		phaseSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "synthfed_coordinator_phase_duration_seconds",
			Help: "Wall time of round phases (select, init, train, run, commit, secure-aggregation phases).", Buckets: buckets}, []string{"phase"}),
		taskFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synthfed_coordinator_task_failures_total",
			Help: "Tasks that sites reported failed, by stage."}, []string{"stage"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "synthfed_coordinator_audit_events_total",
			Help: "Audit log entries by event."}, []string{"event"}),
	}
	reg.MustRegister(m.roundSeconds, m.phaseSeconds, m.taskFailures, m.events, &engineCollector{c: c},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// audit counts an audit entry.
func (m *coordMetrics) audit(e AuditEntry) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(e.Event).Inc()
	if e.Event == EventTaskFailed {
		m.taskFailures.WithLabelValues(e.Reason).Inc()
	}
}

// round observes a committed round's duration.
func (m *coordMetrics) roundDone(kind JobKind, s RoundSummary) {
	if m == nil || s.Started.IsZero() {
		return
	}
	m.roundSeconds.WithLabelValues(string(kind)).Observe(s.Finished.Sub(s.Started).Seconds())
}

// phaseTimed observes the duration of a round phase the engine reports.
func (m *coordMetrics) phaseTimed(ef engine.PhaseTimed) {
	if m == nil {
		return
	}
	m.phaseSeconds.WithLabelValues(string(ef.Phase)).Observe(ef.Seconds)
}

// MetricsHandler returns the coordinator's /metrics handler.
func (c *Coordinator) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(c.ops.metrics.reg, promhttp.HandlerOpts{})
}

// Registry returns the coordinator's metrics registry.
func (c *Coordinator) Registry() *prometheus.Registry { return c.ops.metrics.reg }

// serveMetrics serves /metrics on Config.MetricsListen until ctx ends.
func (c *Coordinator) serveMetrics(ctx context.Context, lis net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", c.MetricsHandler())
	return httpserve.Serve(ctx, lis, mux)
}

// engineCollector exports the Engine's counters and the state of jobs and
// sites at scrape time.
type engineCollector struct{ c *Coordinator }

var (
	descAccepted   = prometheus.NewDesc("synthfed_coordinator_updates_accepted_total", "Updates and results accepted.", nil, nil)
	descRejected   = prometheus.NewDesc("synthfed_coordinator_updates_rejected_total", "Updates refused, by reason.", []string{"reason"}, nil)
	descDropouts   = prometheus.NewDesc("synthfed_coordinator_dropouts_total", "Sites dropped from a round, by reason (deadline_missed, heartbeat_timeout, gossip_failed, task_stream_closed, certificate_revoked, task_failed, task_refused, secagg_*).", []string{"reason"}, nil)
	descRefused    = prometheus.NewDesc("synthfed_coordinator_calls_refused_total", "Calls refused by the access check (mTLS kits), by reason (certificate_revoked, role_not_allowed, no_identity...).", []string{"reason"}, nil)
	descTasksSent  = prometheus.NewDesc("synthfed_coordinator_tasks_sent_total", "Tasks handed to sites.", nil, nil)
	descTasksFail  = prometheus.NewDesc("synthfed_coordinator_tasks_failed_total", "Tasks sites reported failed.", nil, nil)
	descRounds     = prometheus.NewDesc("synthfed_coordinator_rounds_committed_total", "Rounds made durable.", nil, nil)
	descAttempts   = prometheus.NewDesc("synthfed_coordinator_attempts_failed_total", "Round attempts that missed their quorum.", nil, nil)
	descBytesIn    = prometheus.NewDesc("synthfed_coordinator_bytes_received_total", "Update and result bytes received.", nil, nil)
	descBytesOut   = prometheus.NewDesc("synthfed_coordinator_bytes_sent_total", "Model bytes sent.", nil, nil)
	descSites      = prometheus.NewDesc("synthfed_coordinator_sites", "Known sites by state (up, failed, down).", []string{"state"}, nil)
	descJobs       = prometheus.NewDesc("synthfed_coordinator_jobs", "Jobs this coordinator runs, by state.", []string{"state"}, nil)
	descRound      = prometheus.NewDesc("synthfed_coordinator_active_round", "Round number of the running job.", []string{"job"}, nil)
	collectTimeout = 2 * time.Second
)

// Describe sends the descriptors.
func (e *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccepted, descRejected, descDropouts, descRefused, descTasksSent, descTasksFail, descRounds,
		descAttempts, descBytesIn, descBytesOut, descSites, descJobs, descRound} {
		ch <- d
	}
}

// Collect reads the Engine on its goroutine and sends the values.
func (e *engineCollector) Collect(ch chan<- prometheus.Metric) {
	var cnt Counters
	var jobs []JobStatus
	sites := map[string]float64{"up": 0, "failed": 0, "down": 0}
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	err := e.c.do(ctx, func() {
		cnt, jobs = e.c.engine.Counters(), e.c.engine.Jobs()
		for _, s := range e.c.engine.Sites() {
			switch {
			case s.Up:
				sites["up"]++
			case s.Failed:
				sites["failed"]++
			default:
				sites["down"]++
			}
		}
	})
	if err != nil {
		return // the coordinator is stopping or busy: the scrape misses the engine's values
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descAccepted, cnt.Accepted)
	for reason, n := range cnt.Rejected {
		counter(descRejected, n, reason)
	}
	for reason, n := range cnt.DropoutReasons {
		counter(descDropouts, n, reason)
	}
	for reason, n := range cnt.CallsRefused {
		counter(descRefused, n, reason)
	}
	if n := e.c.ops.refusalOverflow.Load(); n > 0 {
		counter(descRefused, n, "unaudited_queue_full")
	}
	counter(descTasksSent, cnt.TasksSent)
	counter(descTasksFail, cnt.TasksFailed)
	counter(descRounds, cnt.RoundsCommitted)
	counter(descAttempts, cnt.AttemptsFailed)
	counter(descBytesIn, cnt.BytesIn)
	counter(descBytesOut, cnt.BytesOut)
	for state, n := range sites {
		ch <- prometheus.MustNewConstMetric(descSites, prometheus.GaugeValue, n, state)
	}
	byState := map[JobState]float64{JobPending: 0, JobRunning: 0, JobDone: 0, JobFailed: 0}
	for _, j := range jobs {
		byState[j.State]++
		if j.State == JobRunning {
			ch <- prometheus.MustNewConstMetric(descRound, prometheus.GaugeValue, float64(j.Round), j.ID)
		}
	}
	for state, n := range byState {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, n, string(state))
	}
}

// listenMetrics opens Config.MetricsListen (nil when it is empty).
func (c *Coordinator) listenMetrics() (net.Listener, error) {
	if c.cfg.MetricsListen == "" {
		return nil, nil
	}
	lis, err := net.Listen("tcp", c.cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("coordinator metrics listen %s: %w", c.cfg.MetricsListen, err)
	}
	c.ops.metricsAddr.Store(lis.Addr().String())
	c.log.Info("serving metrics", "addr", lis.Addr().String())
	return lis, nil
}

// MetricsAddr returns the address /metrics is served on ("" when off). It
// is set once Run has started.
func (c *Coordinator) MetricsAddr() string {
	s, _ := c.ops.metricsAddr.Load().(string)
	return s
}
