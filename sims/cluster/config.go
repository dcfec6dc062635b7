package cluster

import (
	"fmt"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model/logreg"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// Config describes a simulated consortium and its job.
type Config struct {
	// Sites is the number of sites, named site-1 ... site-N unless Names
	// names them.
	Sites int `toml:"sites" json:"sites"`
	// Names, when not empty, names the sites (one per site).
	Names []string `toml:"names" json:"names,omitempty"`
	// Transport is "tcp" (loopback) or "bufconn" (in memory).
	Transport string `toml:"transport" json:"transport"`
	// Gossip runs memberlist failure detection on loopback UDP/TCP.
	Gossip bool `toml:"gossip" json:"gossip"`
	// TLS provisions a consortium CA and startup kits under the run's
	// directory (pki/) and secures every connection with mTLS from them.
	TLS bool `toml:"tls" json:"tls"`
	// HeartbeatInterval and HeartbeatTimeout tune liveness without gossip.
	HeartbeatInterval coordinator.Duration `toml:"heartbeat_interval" json:"heartbeat_interval"`
	HeartbeatTimeout  coordinator.Duration `toml:"heartbeat_timeout" json:"heartbeat_timeout"`
	// StopGrace bounds the coordinator's and each agent's graceful stop.
	StopGrace coordinator.Duration `toml:"stop_grace" json:"stop_grace"`
	// Backoff is how the agents rejoin a coordinator they lost.
	Backoff siteagent.BackoffConfig `toml:"backoff" json:"backoff"`
	// Job is the job the consortium runs; its sites default to all sites.
	Job coordinator.JobSpec `toml:"job" json:"job"`
	// Logreg is the built-in model's data and optimiser; each site gets its
	// index as logreg.Site, so its own shift.
	Logreg logreg.Config `toml:"logreg" json:"logreg"`
}

// DefaultConfig is the embedded default profile of `synthfed sim`: three
// sites over loopback TCP, FedAvg on the logistic-regression model for 5
// rounds with a quorum of 2.
func DefaultConfig() Config {
	job := coordinator.DefaultJobSpec()
	job.ID = "sim-logreg"
	job.Deadlines = coordinator.Deadlines{Select: coordinator.Duration(10 * time.Second),
		Init: coordinator.Duration(10 * time.Second), Train: coordinator.Duration(30 * time.Second)}
	job.Train = coordinator.TrainSpec{LocalSteps: 40, BatchSize: 32, LearningRate: 0.1}
	lr := logreg.DefaultConfig()
	lr.Shift = 1.5
	return Config{Sites: 3, Transport: "tcp", Gossip: false,
		HeartbeatInterval: coordinator.Duration(200 * time.Millisecond), HeartbeatTimeout: coordinator.Duration(3 * time.Second),
		StopGrace: coordinator.Duration(2 * time.Second),
		Backoff:   siteagent.BackoffConfig{Initial: siteagent.Duration(50 * time.Millisecond), Max: siteagent.Duration(time.Second), Multiplier: 2, Jitter: 0.2},
		Job:       job, Logreg: lr}
}

// DefaultLocalConfig is the deadline profile of in-process tests and
// benchmarks: DefaultConfig over an in-memory transport (bufconn), with
// heartbeats every 100 ms and a 5 s timeout (a busy machine running the
// race detector can hold a heartbeat for seconds; an agent that stops
// closes its task stream, which the coordinator sees at once), a 1 s
// graceful stop, agents that rejoin within 200 ms, and 10 s for each phase
// of the job's rounds. Tests that need other values change them on the
// result.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.Transport = "bufconn"
	c.HeartbeatInterval, c.HeartbeatTimeout = coordinator.Duration(100*time.Millisecond), coordinator.Duration(5*time.Second)
	c.StopGrace = coordinator.Duration(time.Second)
	c.Backoff = siteagent.BackoffConfig{Initial: siteagent.Duration(20 * time.Millisecond), Max: siteagent.Duration(200 * time.Millisecond), Multiplier: 2, Jitter: 0.1}
	ten := coordinator.Duration(10 * time.Second)
	c.Job.Deadlines = coordinator.Deadlines{Select: ten, Init: ten, Train: ten}
	return c
}

// SiteNames returns the names of the n sites.
func SiteNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("site-%d", i+1)
	}
	return out
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Sites < 1 || c.Sites > 256 {
		p.Addf("sites = %d: want 1..256", c.Sites)
	}
	if c.Transport != "tcp" && c.Transport != "bufconn" {
		p.Addf("transport = %q: want tcp or bufconn", c.Transport)
	}
	if c.Gossip && c.Transport != "tcp" {
		p.Addf("gossip = true needs transport = \"tcp\"")
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatTimeout < 0 || (c.HeartbeatTimeout > 0 && c.HeartbeatTimeout <= c.HeartbeatInterval) {
		p.Addf("heartbeat_interval %v > 0 and heartbeat_timeout %v (0 or > interval) required", c.HeartbeatInterval.D(), c.HeartbeatTimeout.D())
	}
	if c.StopGrace <= 0 {
		p.Addf("stop_grace = %v: want > 0", c.StopGrace.D())
	}
	if b := c.Backoff; b.Initial <= 0 || b.Max < b.Initial || b.Multiplier < 1 || b.Jitter < 0 || b.Jitter >= 1 {
		p.Addf("backoff: initial %v > 0, max %v >= initial, multiplier %v >= 1 and jitter %v in [0,1) required", b.Initial.D(), b.Max.D(), b.Multiplier, b.Jitter)
	}
	if len(c.Names) > 0 && len(c.Names) != c.Sites {
		p.Addf("names lists %d sites, sites = %d", len(c.Names), c.Sites)
	}
	job := c.withSites().Job
	p.Add(job.Validate("job"))
	p.Add(c.Logreg.Validate())
	return p.Err()
}

// withSites fills the job's site list with every site when it is empty.
func (c Config) withSites() Config {
	if len(c.Job.Sites) == 0 {
		c.Job.Sites = c.SiteIDs()
	}
	return c
}

// SiteIDs returns the sites' names: Names, or site-1 ... site-N.
func (c Config) SiteIDs() []string {
	if len(c.Names) > 0 {
		return append([]string(nil), c.Names...)
	}
	return SiteNames(c.Sites)
}

// LoadConfig reads a simulation file strictly over DefaultConfig.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if err := config.LoadFile(path, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}
