package siteagent

import (
	"net"
	"time"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/protocol"
)

// Duration is a time.Duration that TOML reads and writes as a Go duration
// string such as "1m30s" (the project's one config.Duration).
type Duration = config.Duration

// Config is a site agent's configuration.
type Config struct {
	// SiteID is the site's identity (with mTLS, its certificate decides).
	SiteID string `toml:"site_id"`
	// Coordinator is the coordinator's gRPC address (host:port).
	Coordinator string `toml:"coordinator"`
	// Insecure uses plaintext gRPC; it must be set explicitly.
	Insecure bool `toml:"insecure"`
	// ChunkSize is the upload chunk in bytes.
	ChunkSize int `toml:"chunk_size"`
	// EvaluateGlobal scores each received global model on local validation
	// data before training and reports it as "eval_*" metrics.
	EvaluateGlobal bool `toml:"evaluate_global"`
	// Backoff paces reconnection and upload retries.
	Backoff BackoffConfig `toml:"backoff"`
	// Gossip configures the memberlist node.
	Gossip GossipConfig `toml:"gossip"`
	// StopGrace bounds how long a stopping agent waits for its task.
	StopGrace Duration `toml:"stop_grace"`
	// Data is the site's local data, on which the ddpm and classifier
	// trainers, sample and evaluate tasks run.
	Data DataConfig `toml:"data"`
	// Monitor serves /metrics and the gRPC health service locally.
	Monitor MonitorConfig `toml:"monitor"`
	// TLS names the site's credentials (a startup kit's files, relative to
	// the config file); required unless Insecure. See UseTLS.
	TLS pki.TLSFiles `toml:"tls"`
	// Privacy is the site's privacy policy for secure rounds.
	Privacy PrivacyConfig `toml:"privacy"`
	// Compute chooses the device local training runs on (model/device).
	Compute device.Config `toml:"compute"`
}

// BackoffConfig is exponential backoff with jitter.
type BackoffConfig struct {
	Initial    Duration `toml:"initial"`
	Max        Duration `toml:"max"`
	Multiplier float64  `toml:"multiplier"`
	// Jitter is the random fraction (0..1) taken off each wait.
	Jitter float64 `toml:"jitter"`
}

// GossipConfig configures the agent's memberlist node; its timing should
// match the coordinator's.
type GossipConfig struct {
	Enabled        bool     `toml:"enabled"`
	Bind           string   `toml:"bind"`
	Advertise      string   `toml:"advertise"`
	ProbeInterval  Duration `toml:"probe_interval"`
	ProbeTimeout   Duration `toml:"probe_timeout"`
	GossipInterval Duration `toml:"gossip_interval"`
	SuspicionMult  int      `toml:"suspicion_mult"`
	// Keys encrypt and authenticate gossip (memberlist keyring, the first
	// one sends); UseTLS sets the consortium's key from the kit.
	Keys [][]byte `toml:"-"`
}

// DefaultConfig returns an agent for a coordinator on 127.0.0.1:7070.
func DefaultConfig() Config {
	return Config{Coordinator: "127.0.0.1:7070", ChunkSize: protocol.DefaultChunkSize, EvaluateGlobal: true,
		Backoff:   BackoffConfig{Initial: Duration(200 * time.Millisecond), Max: Duration(10 * time.Second), Multiplier: 2, Jitter: 0.2},
		Gossip:    GossipConfig{Enabled: true, Bind: "127.0.0.1:0", ProbeInterval: Duration(time.Second), ProbeTimeout: Duration(500 * time.Millisecond), GossipInterval: Duration(200 * time.Millisecond), SuspicionMult: 4},
		StopGrace: Duration(10 * time.Second), Data: DefaultDataConfig(), Privacy: DefaultPrivacyConfig(),
		Compute: device.DefaultConfig()}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if err := protocol.ValidSiteID(c.SiteID); err != nil {
		p.Addf("site_id: %v", err)
	}
	if _, _, err := net.SplitHostPort(c.Coordinator); err != nil {
		p.Addf("coordinator = %q: %v", c.Coordinator, err)
	}
	if c.ChunkSize < 4 || c.ChunkSize > protocol.MaxChunkSize {
		p.Addf("chunk_size = %d: want 4..%d", c.ChunkSize, protocol.MaxChunkSize)
	}
	b := c.Backoff
	if b.Initial <= 0 || b.Max < b.Initial || b.Multiplier < 1 || b.Jitter < 0 || b.Jitter >= 1 {
		p.Addf("backoff: initial %v > 0, max %v >= initial, multiplier %v >= 1, jitter %v in [0,1) required", b.Initial.D(), b.Max.D(), b.Multiplier, b.Jitter)
	}
	if g := c.Gossip; g.Enabled {
		if _, _, err := net.SplitHostPort(g.Bind); err != nil {
			p.Addf("gossip.bind = %q: %v", g.Bind, err)
		}
		if g.ProbeInterval <= 0 || g.ProbeTimeout <= 0 || g.ProbeTimeout >= g.ProbeInterval || g.GossipInterval <= 0 || g.SuspicionMult < 1 {
			p.Addf("gossip: probe_interval > probe_timeout > 0, gossip_interval > 0, suspicion_mult >= 1 required")
		}
	}
	if c.StopGrace < 0 {
		p.Addf("stop_grace = %v: want >= 0", c.StopGrace.D())
	}
	p.Add(c.Data.Validate())
	p.Add(c.Monitor.Validate())
	p.Add(c.Compute.Validate())
	p.Add(c.validateSecurity())
	return p.Err()
}
