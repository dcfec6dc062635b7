package cluster

import (
	"fmt"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model/logreg"
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
		Job: job, Logreg: lr}
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
