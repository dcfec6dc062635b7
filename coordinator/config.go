package coordinator

import (
	"fmt"
	"net"
	"os"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol"
)

// Config is the coordinator's configuration file (TOML).
type Config struct {
	// ID names this coordinator in logs and replies.
	ID string `toml:"id"`
	// Listen is the gRPC address (host:port; port 0 picks a free one).
	Listen string `toml:"listen"`
	// Insecure serves plaintext gRPC. It must be set explicitly: without it
	// the coordinator needs TLS credentials.
	Insecure bool `toml:"insecure"`
	// DataDir holds the store (state.db) and the checkpoints/ directory.
	DataDir string `toml:"data_dir"`
	// ChunkSize is the default stream chunk in bytes.
	ChunkSize int `toml:"chunk_size"`
	// MaxConcurrentUploads bounds how many update bodies are received at
	// once. Each goes to an unlinked spool file under data_dir/spool (one
	// model of disk each); in memory an upload holds one chunk.
	MaxConcurrentUploads int `toml:"max_concurrent_uploads"`
	// Float64SumMax is the largest model, in values, whose plain rounds
	// are summed in float64 (8 bytes per parameter); larger ones are summed
	// as float32 deltas from the global model (4 bytes), so that the
	// coordinator holds about two models. 0: 2^24; -1: always float32.
	Float64SumMax int `toml:"float64_sum_max"`
	// HeartbeatInterval is what agents are told to use.
	HeartbeatInterval Duration `toml:"heartbeat_interval"`
	// HeartbeatTimeout marks a silent site failed (0: gossip only).
	HeartbeatTimeout Duration `toml:"heartbeat_timeout"`
	// StopGrace bounds graceful shutdown before connections are cut.
	StopGrace Duration `toml:"stop_grace"`
	// Gossip configures memberlist failure detection.
	Gossip GossipConfig `toml:"gossip"`
	// MetricsListen serves Prometheus /metrics over HTTP (empty: off).
	MetricsListen string `toml:"metrics_listen"`
	// Jobs are submitted at start unless the store already has them.
	Jobs []JobSpec `toml:"jobs"`
	// TLS names the coordinator's credentials (a startup kit's files,
	// relative to the config file); required unless Insecure. See UseTLS.
	TLS pki.TLSFiles `toml:"tls"`
}

// GossipConfig configures hashicorp/memberlist. The defaults detect a dead
// site within ProbeInterval + ProbeTimeout + SuspicionMult*ProbeInterval
// (about 5.5 s) on a LAN.
type GossipConfig struct {
	// Enabled turns gossip failure detection on.
	Enabled bool `toml:"enabled"`
	// Bind is the memberlist address (TCP and UDP, same port; 0 picks one).
	Bind string `toml:"bind"`
	// Advertise is the address others reach this node at (empty: Bind).
	Advertise string `toml:"advertise"`
	// ProbeInterval, ProbeTimeout and GossipInterval tune the protocol.
	ProbeInterval  Duration `toml:"probe_interval"`
	ProbeTimeout   Duration `toml:"probe_timeout"`
	GossipInterval Duration `toml:"gossip_interval"`
	// SuspicionMult scales how long a suspect has to refute before it is
	// declared dead (in probe intervals).
	SuspicionMult int `toml:"suspicion_mult"`
	// Keys encrypt and authenticate gossip (memberlist keyring, the first
	// one sends); UseTLS sets the consortium's key from the kit.
	Keys [][]byte `toml:"-"`
	// Admit, when set, vets every node announcement by name and address
	// (host:port); a refused one is ignored. UseTLS admits a site's node
	// only at the address its certificate-authenticated Join gave.
	Admit func(name, addr string) error `toml:"-"`
}

// DefaultGossipConfig returns the LAN defaults (bound on 127.0.0.1:7946).
func DefaultGossipConfig() GossipConfig {
	return GossipConfig{Enabled: true, Bind: "127.0.0.1:7946", ProbeInterval: Duration(time.Second),
		ProbeTimeout: Duration(500 * time.Millisecond), GossipInterval: Duration(200 * time.Millisecond), SuspicionMult: 4}
}

// DetectionBound returns the worst-case time to declare a silent node dead.
func (g GossipConfig) DetectionBound() time.Duration {
	return g.ProbeInterval.D() + g.ProbeTimeout.D() + time.Duration(g.SuspicionMult)*g.ProbeInterval.D()
}

// Validate reports every problem at once.
func (g GossipConfig) Validate(prefix string) error {
	var p config.Problems
	if !g.Enabled {
		return nil
	}
	if _, _, err := net.SplitHostPort(g.Bind); err != nil {
		p.Addf("%s.bind = %q: %v", prefix, g.Bind, err)
	}
	if g.Advertise != "" {
		if _, _, err := net.SplitHostPort(g.Advertise); err != nil {
			p.Addf("%s.advertise = %q: %v", prefix, g.Advertise, err)
		}
	}
	if g.ProbeInterval <= 0 || g.ProbeTimeout <= 0 || g.GossipInterval <= 0 || g.ProbeTimeout >= g.ProbeInterval {
		p.Addf("%s: probe_interval %v > probe_timeout %v > 0 and gossip_interval %v > 0 required", prefix, g.ProbeInterval.D(), g.ProbeTimeout.D(), g.GossipInterval.D())
	}
	if g.SuspicionMult < 1 {
		p.Addf("%s.suspicion_mult = %d: want >= 1", prefix, g.SuspicionMult)
	}
	return p.Err()
}

// DefaultConfig returns a coordinator on 127.0.0.1:7070 with gossip on.
func DefaultConfig() Config {
	return Config{ID: "coordinator", Listen: "127.0.0.1:7070", DataDir: "coordinator-data",
		ChunkSize: protocol.DefaultChunkSize, MaxConcurrentUploads: 2,
		HeartbeatInterval: Duration(2 * time.Second), HeartbeatTimeout: Duration(15 * time.Second),
		StopGrace: Duration(10 * time.Second), Gossip: DefaultGossipConfig()}
}

// LoadConfig reads path strictly over the defaults; job tables get the
// defaults of DefaultJobSpec for every key they leave out.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), fmt.Errorf("config %s: %w", path, err)
	}
	return DecodeConfig(data, path)
}

// DecodeConfig decodes a coordinator configuration file's contents (name
// labels errors) as LoadConfig does; it does not validate.
func DecodeConfig(data []byte, name string) (Config, error) {
	cfg := DefaultConfig()
	if err := config.Decode(data, name, &cfg); err != nil {
		return cfg, err
	}
	return cfg, applyJobDefaults(data, name, &cfg)
}

// applyJobDefaults re-reads each [[jobs]] table over DefaultJobSpec, since a
// TOML array of tables decodes into zero values. The strict first pass has
// already reported unknown keys and bad types with their lines.
func applyJobDefaults(data []byte, path string, cfg *Config) error {
	var raw struct {
		Jobs []map[string]any `toml:"jobs"`
	}
	if err := toml.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s: %w: %w", path, err, config.ErrInvalid)
	}
	if len(raw.Jobs) != len(cfg.Jobs) {
		return fmt.Errorf("%s: %d [[jobs]] tables read as %d: %w", path, len(raw.Jobs), len(cfg.Jobs), config.ErrInvalid)
	}
	for i, m := range raw.Jobs {
		b, err := toml.Marshal(m)
		if err != nil {
			return fmt.Errorf("%s: jobs[%d]: %w: %w", path, i, err, config.ErrInvalid)
		}
		js := DefaultJobSpec()
		if err := config.Decode(b, fmt.Sprintf("%s jobs[%d]", path, i), &js); err != nil {
			return err
		}
		cfg.Jobs[i] = js
	}
	return nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.ID == "" {
		p.Addf("id is empty")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		p.Addf("listen = %q: %v", c.Listen, err)
	}
	if c.DataDir == "" {
		p.Addf("data_dir is empty")
	}
	if c.ChunkSize < 4 || c.ChunkSize > protocol.MaxChunkSize {
		p.Addf("chunk_size = %d: want 4..%d", c.ChunkSize, protocol.MaxChunkSize)
	}
	if c.Float64SumMax < -1 {
		p.Addf("float64_sum_max = %d: want -1, 0 (default) or a number of values", c.Float64SumMax)
	}
	if c.MaxConcurrentUploads < 1 {
		p.Addf("max_concurrent_uploads = %d: want >= 1", c.MaxConcurrentUploads)
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatTimeout < 0 || (c.HeartbeatTimeout > 0 && c.HeartbeatTimeout <= c.HeartbeatInterval) {
		p.Addf("heartbeat_interval %v > 0 and heartbeat_timeout %v (0 or > interval) required", c.HeartbeatInterval.D(), c.HeartbeatTimeout.D())
	}
	if c.StopGrace < 0 {
		p.Addf("stop_grace = %v: want >= 0", c.StopGrace.D())
	}
	p.Add(c.Gossip.Validate("gossip"))
	if c.Insecure && c.TLS.Configured() {
		p.Addf("insecure = true and a [tls] table: choose one (plaintext is for local simulations only)")
	}
	if c.TLS.Configured() {
		p.Add(c.TLS.Validate("tls"))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			p.Addf("metrics_listen = %q: %v", c.MetricsListen, err)
		}
	}
	ids := map[string]bool{}
	for i, j := range c.Jobs {
		p.Add(j.Validate(fmt.Sprintf("jobs[%d]", i)))
		if ids[j.ID] {
			p.Addf("jobs[%d].id = %q: repeated", i, j.ID)
		}
		ids[j.ID] = true
	}
	return p.Err()
}
