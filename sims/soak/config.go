package soak

import (
	"fmt"
	"time"

	"github.com/synthfed/synthfed/internal/config"
)

// Config describes one soak run.
type Config struct {
	// Sites is the number of site-agent processes.
	Sites int `json:"sites"`
	// Duration is how long jobs are submitted and faults injected; the run
	// then drains the last job and stops everything.
	Duration time.Duration `json:"duration"`
	// Seed fixes the chaos schedule, the data and the jobs.
	Seed uint64 `json:"seed"`
	// Out is the run's folder: kits, data, logs, soak.json.
	Out string `json:"out"`
	// Binary is the synthfed executable to start.
	Binary string `json:"binary"`
	// Rounds and LocalSteps size every job of logistic regression.
	Rounds     int `json:"rounds"`
	LocalSteps int `json:"local_steps"`
	// TrainDelay is extra simulated compute per local step (so that faults
	// land inside rounds).
	TrainDelay time.Duration `json:"train_delay"`
	// Deadline is the jobs' train deadline (select, init and train).
	Deadline time.Duration `json:"deadline"`
	// FaultGap is the mean time between two faults.
	FaultGap time.Duration `json:"fault_gap"`
	// Kinds restricts the faults drawn (empty: every kind).
	Kinds []Kind `json:"kinds,omitempty"`
	// SampleEvery is the resource sampling period.
	SampleEvery time.Duration `json:"sample_every"`
	// Drain bounds how long the last job may run after Duration.
	Drain time.Duration `json:"drain"`
	// Mode is where members run: ModeAuto, ModeProcesses, ModeContainers
	// or ModeNetns.
	Mode string `json:"mode"`
	// Image is the containers mode's image (make image builds it).
	Image string `json:"image"`
	// LinkRate shapes each site's link with tbf in the containers and
	// netns modes (a tc rate such as "20mbit"; empty: not shaped).
	LinkRate string `json:"link_rate"`
	// CPUShares weighs the containers' CPU (docker --cpu-shares; 0: the
	// default weight). 2 is about nice 19 beside other work.
	CPUShares int `json:"cpu_shares,omitempty"`
	// DataLimit sizes the coordinator's data folder, a tmpfs of its own
	// when the soak runs as root (the disk-full fault fills it).
	DataLimit int64 `json:"data_limit"`
}

// DefaultConfig is the run: 50 sites for 20 minutes.
func DefaultConfig() Config {
	return Config{Sites: 50, Duration: 20 * time.Minute, Seed: 17, Out: "out/soak", Rounds: 3, LocalSteps: 20,
		TrainDelay: 500 * time.Millisecond, Deadline: 10 * time.Second, FaultGap: 25 * time.Second,
		SampleEvery: 5 * time.Second, Drain: 90 * time.Second, Mode: ModeAuto, Image: DefaultImage, LinkRate: "20mbit",
		DataLimit: 256 << 20}
}

// Quorum is the jobs' quorum: 60% of the sites, at least 2.
func (c Config) Quorum() int { return max(2, (c.Sites*3+4)/5) }

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Sites < 3 || c.Sites > 500 {
		p.Addf("soak: sites = %d: want 3..500", c.Sites)
	}
	if c.Duration < 10*time.Second {
		p.Addf("soak: duration = %v: want >= 10s", c.Duration)
	}
	if c.Out == "" || c.Binary == "" {
		p.Addf("soak: out %q and binary %q must be set", c.Out, c.Binary)
	}
	if c.Rounds < 1 || c.LocalSteps < 1 {
		p.Addf("soak: rounds = %d, local_steps = %d: want >= 1", c.Rounds, c.LocalSteps)
	}
	if c.TrainDelay < 0 || c.Deadline < time.Second || c.FaultGap < time.Second || c.SampleEvery < 100*time.Millisecond || c.Drain < 0 {
		p.Addf("soak: train_delay %v >= 0, deadline %v >= 1s, fault_gap %v >= 1s, sample_every %v >= 100ms, drain %v >= 0 required",
			c.TrainDelay, c.Deadline, c.FaultGap, c.SampleEvery, c.Drain)
	}
	switch c.Mode {
	case ModeAuto, ModeProcesses, ModeContainers, ModeNetns:
	default:
		p.Addf("soak: mode %q: want %s, %s, %s or %s", c.Mode, ModeAuto, ModeContainers, ModeNetns, ModeProcesses)
	}
	if (c.Mode == ModeAuto || c.Mode == ModeContainers) && c.Image == "" {
		p.Addf("soak: mode %q needs an image", c.Mode)
	}
	if c.DataLimit < 16<<20 {
		p.Addf("soak: data_limit = %d: want >= 16 MiB", c.DataLimit)
	}
	for _, k := range c.Kinds {
		if !k.valid() {
			p.Addf("soak: fault kind %q: want one of %v", k, AllKinds)
		}
	}
	return p.Err()
}

// String is the one-line summary printed at the start of a run.
func (c Config) String() string {
	return fmt.Sprintf("%d sites, %v, seed %d, quorum %d, %d rounds per job", c.Sites, c.Duration, c.Seed, c.Quorum(), c.Rounds)
}
