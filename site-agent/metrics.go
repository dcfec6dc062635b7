package siteagent

import (
	"math"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/synthfed/synthfed/crypto/dp"
	"github.com/synthfed/synthfed/model"
)

// PrivacyBudget reports the site's differential-privacy budget: epsilon
// spent so far and the budget it may not exceed; ok is false when no
// accountant is configured.
type PrivacyBudget func() (spent, budget float64, ok bool)

// agentMetrics are the agent's Prometheus metrics, in a registry of its own
// (several agents run in one process in simulations). A nil *agentMetrics
// records nothing.
type agentMetrics struct {
	reg             *prometheus.Registry
	tasks           *prometheus.CounterVec
	taskSeconds     *prometheus.HistogramVec
	trainLoss       *prometheus.GaugeVec
	trainRate       prometheus.Gauge
	trainImages     prometheus.Counter
	sampleRate      prometheus.Gauge
	sampleImages    prometheus.Counter
	evaluations     prometheus.Counter
	fidelityDrops   prometheus.Counter
	bytesIn         prometheus.Counter
	bytesOut        prometheus.Counter
	connected       prometheus.Gauge
	joins           prometheus.Counter
	failureReports  *prometheus.CounterVec
	privacyProvided bool
}

func newAgentMetrics(site string, privacy PrivacyBudget) *agentMetrics {
	reg := prometheus.NewRegistry()
	f := factory{reg: reg, labels: prometheus.Labels{"site": site}}
	m := &agentMetrics{
		reg:            reg,
		tasks:          f.counterVec("synthfed_agent_tasks_total", "Tasks ended, by kind and outcome (done, failed, cancelled).", "kind", "outcome"),
		taskSeconds:    f.histogramVec("synthfed_agent_task_duration_seconds", "Wall time of tasks by kind.", "kind"),
		trainLoss:      f.gaugeVec("synthfed_agent_train_loss", "Mean local training loss of the last train task, by job.", "job"),
		trainRate:      f.gauge("synthfed_agent_train_images_per_second", "Images per second of the last local training."),
		trainImages:    f.counter("synthfed_agent_train_images_total", "Images processed by local training (steps x batch)."),
		sampleRate:     f.gauge("synthfed_agent_sample_images_per_second", "Synthetic images per second of the last sample task."),
		sampleImages:   f.counter("synthfed_agent_sample_images_total", "Synthetic images drawn."),
		evaluations:    f.counter("synthfed_agent_evaluated_models_total", "Classifier checkpoints scored on the local test set."),
		fidelityDrops:  f.counter("synthfed_agent_fidelity_dropped_total", "Synthetic images dropped by the fidelity filter."),
		bytesIn:        f.counter("synthfed_agent_bytes_received_total", "Model bytes downloaded from the coordinator."),
		bytesOut:       f.counter("synthfed_agent_bytes_sent_total", "Update and result bytes sent to the coordinator."),
		connected:      f.gauge("synthfed_agent_connected", "1 while the agent holds a session with the coordinator."),
		joins:          f.counter("synthfed_agent_joins_total", "Sessions opened with the coordinator."),
		failureReports: f.counterVec("synthfed_agent_failure_reports_total", "Task failures reported to the coordinator, by stage.", "stage"),
	}
	if privacy != nil {
		m.privacyProvided = true
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synthfed_agent_privacy_epsilon_spent",
			Help: "Differential-privacy epsilon spent so far.", ConstLabels: f.labels}, func() float64 { s, _, ok := privacy(); return orNaN(s, ok) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "synthfed_agent_privacy_epsilon_left",
			Help: "Differential-privacy budget left (budget - spent).", ConstLabels: f.labels}, func() float64 { s, b, ok := privacy(); return orNaN(b-s, ok) }))
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the agent's metrics registry (for /metrics).
func (a *Agent) Registry() *prometheus.Registry { return a.metrics.reg }

func (m *agentMetrics) taskEnded(kind, outcome string, seconds float64) {
	if m == nil {
		return
	}
	m.tasks.WithLabelValues(kind, outcome).Inc()
	m.taskSeconds.WithLabelValues(kind).Observe(seconds)
}

func (m *agentMetrics) trained(job string, loss float64, images int, rate float64) {
	if m == nil {
		return
	}
	m.trainLoss.WithLabelValues(job).Set(loss)
	m.trainImages.Add(float64(images))
	m.trainRate.Set(rate)
}

func (m *agentMetrics) sampled(images int, rate float64) {
	if m == nil {
		return
	}
	m.sampleImages.Add(float64(images))
	m.sampleRate.Set(rate)
}

func (m *agentMetrics) evaluated(n int) {
	if m != nil {
		m.evaluations.Add(float64(n))
	}
}

func (m *agentMetrics) fidelityDropped(n int) {
	if m != nil {
		m.fidelityDrops.Add(float64(n))
	}
}

func (m *agentMetrics) addBytes(in, out int64) {
	if m == nil {
		return
	}
	m.bytesIn.Add(float64(in))
	m.bytesOut.Add(float64(out))
}

func (m *agentMetrics) session(up bool) {
	if m == nil {
		return
	}
	if up {
		m.joins.Inc()
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

func (m *agentMetrics) failureReported(stage string) {
	if m != nil {
		m.failureReports.WithLabelValues(stage).Inc()
	}
}

// factory registers metrics with constant labels.
type factory struct {
	reg    *prometheus.Registry
	labels prometheus.Labels
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: f.labels})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: f.labels}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: f.labels})
	f.reg.MustRegister(g)
	return g
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: f.labels}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogramVec(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, ConstLabels: f.labels,
		Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 12)}, labels)
	f.reg.MustRegister(h)
	return h
}

// weightBytes is the wire size of w's values.
func weightBytes(w model.Weights) int64 {
	var n int64
	for _, t := range w.Tensors() {
		n += 4 * int64(len(t.Data))
	}
	return n
}

func orNaN(v float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}

// ledgerBudget reads the site's privacy ledger (privacy.state_dir) at each
// call, so that the metrics follow the accountant of secure rounds.
func ledgerBudget(c PrivacyConfig, site string) PrivacyBudget {
	return func() (float64, float64, bool) {
		a, err := dp.OpenAccountant(filepath.Join(c.StateDir, ledgerFile), site, dp.Budget{Epsilon: c.EpsilonBudget, Delta: c.Delta}, nil)
		if err != nil {
			return 0, c.EpsilonBudget, false
		}
		_, eps := a.Spent()
		return eps, c.EpsilonBudget, true
	}
}
