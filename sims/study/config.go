package study

import (
	"embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model/classifier"
	"github.com/synthfed/synthfed/model/ddpm"
)

// Config is one run of the study: the consortium, the models, the
// experiments and their evaluation. Profiles are embedded TOML files over
// baseConfig; a user file (LoadConfig) overlays a profile strictly.
type Config struct {
	// Profile names the embedded profile the run started from.
	Profile string `toml:"profile" json:"profile"`
	// Title heads the report.
	Title string `toml:"title" json:"title"`
	// Sites is the number of simulated hospitals.
	Sites int `toml:"sites" json:"sites"`
	// Seeds fix every random choice of the run.
	Seeds Seeds `toml:"seeds" json:"seeds"`
	// Data sizes and splits the phantom consortium.
	Data DataConfig `toml:"data" json:"data"`
	// Consortium configures the federation's transport and security.
	Consortium ConsortiumConfig `toml:"consortium" json:"consortium"`
	// DDPM is the conditional diffusion model and its federated training.
	DDPM DDPMConfig `toml:"ddpm" json:"ddpm"`
	// Classifier is the pathology classifier and its training.
	Classifier ClassifierConfig `toml:"classifier" json:"classifier"`
	// Experiments chooses the levels and arms of E1-E4.
	Experiments ExperimentsConfig `toml:"experiments" json:"experiments"`
	// Eval configures scoring, quality and memorisation.
	Eval EvalConfig `toml:"eval" json:"eval"`
}

// Seeds are every seed of a run.
type Seeds struct {
	// Data renders the phantom consortium.
	Data uint64 `toml:"data" json:"data"`
	// Split draws the patient-level train/validation split at each site.
	Split uint64 `toml:"split" json:"split"`
	// Job seeds the federated jobs (initial model, cohorts, local steps).
	Job int64 `toml:"job" json:"job"`
	// Sample seeds the synthetic images (one seed per site, row, replica).
	Sample int64 `toml:"sample" json:"sample"`
	// Classifier seeds each classifier; several seeds are averaged
	// (their probabilities), which reduces seed noise.
	Classifier []int64 `toml:"classifier" json:"classifier"`
	// Bootstrap seeds the patient resampling of the CIs.
	Bootstrap uint64 `toml:"bootstrap" json:"bootstrap"`
}

// DataConfig sizes the phantom consortium and its splits.
type DataConfig struct {
	// ImagesPerSite is the number of radiographs rendered per site.
	ImagesPerSite int `toml:"images_per_site" json:"images_per_site"`
	// Size is the image side every model works at.
	Size int `toml:"size" json:"size"`
	// Supersample renders at Size*Supersample before downsampling.
	Supersample int `toml:"supersample" json:"supersample"`
	// TestFraction is the share of each site's patients in its test set
	// (the agent's patient-level split of all its rows).
	TestFraction float64 `toml:"test_fraction" json:"test_fraction"`
	// ValFraction is the share of the other patients kept for early
	// stopping and DDPM validation; the rest train.
	ValFraction float64 `toml:"val_fraction" json:"val_fraction"`
	// TestImagesPerSite, when > 0, renders that many more images per site
	// from other patients into a held-out test folder (<site>-test, the
	// agent's data.test_path), which joins the site's test set: test images
	// are cheap and never train, and they decide the CIs' width.
	TestImagesPerSite int `toml:"test_images_per_site" json:"test_images_per_site,omitempty"`
	// Corrupt lists, per site name, how many of its training images are
	// overwritten with garbage after rendering (a fault drill: the loader
	// must report and skip them).
	Corrupt map[string]int `toml:"corrupt" json:"corrupt,omitempty"`
}

// ConsortiumConfig is the federation's transport and security.
type ConsortiumConfig struct {
	// Transport is "tcp" (loopback) or "bufconn" (in memory).
	Transport string `toml:"transport" json:"transport"`
	// TLS provisions a CA and kits and runs every connection over mTLS.
	TLS bool `toml:"tls" json:"tls"`
	// SecureAggregation runs the federated jobs' rounds under secure
	// aggregation (crypto/secagg): the coordinator learns only the sum of
	// the sites' updates. It needs TLS (the sites' identities sign their
	// key shares). Site-only jobs never use it: one site has nothing to
	// hide its update among.
	SecureAggregation bool `toml:"secure_aggregation" json:"secure_aggregation"`
	// HeartbeatInterval and HeartbeatTimeout tune liveness.
	HeartbeatInterval config.Duration `toml:"heartbeat_interval" json:"heartbeat_interval"`
	HeartbeatTimeout  config.Duration `toml:"heartbeat_timeout" json:"heartbeat_timeout"`
	// RoundDeadline bounds each round's training phase.
	RoundDeadline config.Duration `toml:"round_deadline" json:"round_deadline"`
}

// DDPMConfig is the diffusion model ([ddpm.arch], [ddpm.train],
// [ddpm.sample]) and its federated schedule.
type DDPMConfig struct {
	ddpm.Config
	// Rounds and LocalSteps are the federated schedule; a site-only DDPM
	// takes the same Rounds x LocalSteps steps alone.
	Rounds     int `toml:"rounds" json:"rounds"`
	LocalSteps int `toml:"local_steps" json:"local_steps"`
	// RoundEMA is the decay of the EMA over the committed global models
	// that sampling uses (0: the last global model). Sites keep their own
	// step-level EMA, which never leaves the site.
	RoundEMA float64 `toml:"round_ema" json:"round_ema"`
}

// ClassifierConfig is the classifier ([classifier.arch],
// [classifier.train]) and its FedAvg schedule.
type ClassifierConfig struct {
	classifier.Config
	// FedAvgRounds and FedAvgLocalSteps are the FedAvg classifier's
	// schedule (E4).
	FedAvgRounds     int `toml:"fedavg_rounds" json:"fedavg_rounds"`
	FedAvgLocalSteps int `toml:"fedavg_local_steps" json:"fedavg_local_steps"`
	// FidelityFilter, when > 0, drops a synthetic image when the site's
	// real-only classifier's probability differs from one of its 0/1
	// conditioning labels by more than this (0: keep every image).
	FidelityFilter float64 `toml:"fidelity_filter" json:"fidelity_filter"`
}

// ExperimentsConfig chooses what E1-E4 run.
type ExperimentsConfig struct {
	// Levels are E1's supplementation levels in percent (0 is real only).
	Levels []int `toml:"levels" json:"levels"`
	// SyntheticOnly are E2's levels (synthetic images alone).
	SyntheticOnly []int `toml:"synthetic_only" json:"synthetic_only"`
	// Mixing are E3's levels: real data of one site plus that many percent
	// of synthetic replicas of the other sites' rows.
	Mixing []int `toml:"mixing" json:"mixing"`
	// FederationLevel is E4's level for site-only against federated DDPMs.
	FederationLevel int `toml:"federation_level" json:"federation_level"`
	// SiteConditioned are E5's levels (empty: E5 is not run): a second
	// federated DDPM learns each site's acquisition as a site condition,
	// and each site adds its own rows drawn as acquired at the other sites.
	SiteConditioned []int `toml:"site_conditioned" json:"site_conditioned,omitempty"`
	// Workers trains this many classifiers at once.
	Workers int `toml:"workers" json:"workers"`
}

// EvalConfig configures scoring and the synthetic-image metrics.
type EvalConfig struct {
	// BootstrapReps and Level configure the bootstrap CIs.
	BootstrapReps int     `toml:"bootstrap_reps" json:"bootstrap_reps"`
	Level         float64 `toml:"level" json:"level"`
	// QualityImages caps the images per set in the quality metrics.
	QualityImages int `toml:"quality_images" json:"quality_images"`
	// PRNeighbours is k of precision and recall.
	PRNeighbours int `toml:"pr_neighbours" json:"pr_neighbours"`
	// MemorisationPercentile calibrates near-copy flags.
	MemorisationPercentile float64 `toml:"memorisation_percentile" json:"memorisation_percentile"`
	// TargetHalfWidth is the 95% CI half-width of a site's macro AUROC
	// that the test sets are sized for; the regime table reports whether
	// it was met (0: no target).
	TargetHalfWidth float64 `toml:"target_half_width" json:"target_half_width,omitempty"`
	// GridConditions and GridImages size the sample grids.
	GridConditions int `toml:"grid_conditions" json:"grid_conditions"`
	GridImages     int `toml:"grid_images" json:"grid_images"`
}

//go:embed profiles/*.toml
var profileFS embed.FS

// Profiles lists the embedded profile names.
func Profiles() []string {
	ents, _ := profileFS.ReadDir("profiles")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".toml"))
	}
	sort.Strings(out)
	return out
}

// DefaultProfile is the profile `synthfed sim` runs without --profile.
const DefaultProfile = "quick"

// DefaultConfig returns the default profile.
func DefaultConfig() Config {
	c, err := Profile(DefaultProfile)
	if err != nil {
		panic(err) // the embedded profiles are tested
	}
	return c
}

// Profile returns an embedded profile: its TOML over baseConfig.
func Profile(name string) (Config, error) {
	data, err := profileFS.ReadFile("profiles/" + name + ".toml")
	if err != nil {
		return Config{}, fmt.Errorf("study: profile %q: want one of %s: %w", name, strings.Join(Profiles(), ", "), config.ErrInvalid)
	}
	c := baseConfig()
	if err := config.Decode(data, "profile "+name, &c); err != nil {
		return Config{}, err
	}
	c.Profile = name
	return c, c.Validate()
}

// LoadConfig reads path strictly over base (a profile). Unknown keys and
// invalid values are reported together.
func LoadConfig(path string, base Config) (Config, error) {
	c := base
	err := config.LoadFile(path, &c)
	return c, errors.Join(err, c.Validate())
}

// baseConfig holds the values every profile starts from.
func baseConfig() Config {
	dc := ddpm.DefaultConfig()
	cc := classifier.DefaultConfig()
	return Config{
		Title: "synthfed: synthetic supplementation in a simulated federated consortium",
		Sites: 3,
		Seeds: Seeds{Data: 1, Split: 2, Job: 3, Sample: 4, Classifier: []int64{5}, Bootstrap: 6},
		Data:  DataConfig{ImagesPerSite: 600, Size: 32, Supersample: 2, TestFraction: 0.4, ValFraction: 0.15},
		Consortium: ConsortiumConfig{Transport: "tcp", TLS: true, SecureAggregation: true, HeartbeatInterval: config.Duration(500e6),
			HeartbeatTimeout: config.Duration(30e9), RoundDeadline: config.Duration(600e9)},
		DDPM:        DDPMConfig{Config: dc, Rounds: 10, LocalSteps: 20, RoundEMA: 0.5},
		Classifier:  ClassifierConfig{Config: cc, FedAvgRounds: 5, FedAvgLocalSteps: 40},
		Experiments: ExperimentsConfig{Levels: []int{0, 100, 300, 1000}, SyntheticOnly: []int{100, 300, 1000}, Mixing: []int{100}, FederationLevel: 100, Workers: 2},
		Eval: EvalConfig{BootstrapReps: 1000, Level: 0.95, QualityImages: 600, PRNeighbours: 3, MemorisationPercentile: 1,
			GridConditions: 4, GridImages: 8},
	}
}

// MaxLevel is the highest level any experiment needs, which decides how
// many replicas of each training row are sampled (MaxLevel/100).
func (c Config) MaxLevel() int {
	m := c.Experiments.FederationLevel
	for _, l := range slices.Concat(c.Experiments.Levels, c.Experiments.SyntheticOnly) {
		m = max(m, l)
	}
	return m
}

// SiteLevel is the highest E5 level, which decides how many replicas the
// site-conditioned DDPM draws per training row (0: E5 is off).
func (c Config) SiteLevel() int {
	if len(c.Experiments.SiteConditioned) == 0 {
		return 0
	}
	return slices.Max(c.Experiments.SiteConditioned)
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Sites < 2 || c.Sites > 16 {
		p.Addf("sites = %d: want 2..16 (external test sets need another site)", c.Sites)
	}
	if len(c.Seeds.Classifier) == 0 {
		p.Addf("seeds.classifier is empty")
	}
	c.Data.validate(&p)
	c.Consortium.validate(&p)
	p.Add(c.DDPM.Config.Validate())
	p.Add(c.Classifier.Config.Validate())
	if c.DDPM.Arch.ImageSize != c.Data.Size || c.Classifier.Arch.ImageSize != c.Data.Size {
		p.Addf("ddpm.arch.image_size %d and classifier.arch.image_size %d must equal data.size %d", c.DDPM.Arch.ImageSize, c.Classifier.Arch.ImageSize, c.Data.Size)
	}
	if c.DDPM.Rounds < 1 || c.DDPM.LocalSteps < 1 || !(c.DDPM.RoundEMA >= 0 && c.DDPM.RoundEMA < 1) {
		p.Addf("ddpm: rounds %d >= 1, local_steps %d >= 1, round_ema %v in [0,1) required", c.DDPM.Rounds, c.DDPM.LocalSteps, c.DDPM.RoundEMA)
	}
	if c.Classifier.FedAvgRounds < 1 || c.Classifier.FedAvgLocalSteps < 1 || !(c.Classifier.FidelityFilter >= 0 && c.Classifier.FidelityFilter < 1) {
		p.Addf("classifier: fedavg_rounds %d >= 1, fedavg_local_steps %d >= 1, fidelity_filter %v in [0,1) required", c.Classifier.FedAvgRounds, c.Classifier.FedAvgLocalSteps, c.Classifier.FidelityFilter)
	}
	c.Experiments.validate(&p)
	c.Eval.validate(&p)
	return p.Err()
}

func (d DataConfig) validate(p *config.Problems) {
	if d.ImagesPerSite < 40 {
		p.Addf("data.images_per_site = %d: want >= 40", d.ImagesPerSite)
	}
	if d.Size < 8 || d.Size > 128 || d.Supersample < 1 {
		p.Addf("data.size %d in 8..128 and data.supersample %d >= 1 required", d.Size, d.Supersample)
	}
	held := d.TestImagesPerSite > 0
	if !(d.TestFraction > 0 || held && d.TestFraction == 0) || !(d.TestFraction < 0.9) || !(d.ValFraction > 0 && d.ValFraction < 0.5) {
		p.Addf("data.test_fraction %v in (0,0.9) ([0,0.9) with test_images_per_site) and data.val_fraction %v in (0,0.5) required", d.TestFraction, d.ValFraction)
	}
	if d.TestImagesPerSite < 0 || d.TestImagesPerSite > 1_000_000 {
		p.Addf("data.test_images_per_site = %d: want 0..1000000", d.TestImagesPerSite)
	}
	for site, n := range d.Corrupt {
		if n < 0 {
			p.Addf("data.corrupt.%s = %d: want >= 0", site, n)
		}
	}
}

func (k ConsortiumConfig) validate(p *config.Problems) {
	if k.Transport != "tcp" && k.Transport != "bufconn" {
		p.Addf("consortium.transport = %q: want tcp or bufconn", k.Transport)
	}
	if k.HeartbeatInterval <= 0 || k.HeartbeatTimeout <= k.HeartbeatInterval || k.RoundDeadline <= 0 {
		p.Addf("consortium: heartbeat_interval %v > 0, heartbeat_timeout %v > interval, round_deadline %v > 0 required",
			k.HeartbeatInterval.D(), k.HeartbeatTimeout.D(), k.RoundDeadline.D())
	}
	if k.SecureAggregation && !k.TLS {
		p.Addf("consortium.secure_aggregation = true needs consortium.tls = true (the sites sign their key shares with their certificates)")
	}
}

func (e ExperimentsConfig) validate(p *config.Problems) {
	check := func(name string, levels []int, zero bool) {
		if !slices.IsSorted(levels) || len(slices.Compact(slices.Clone(levels))) != len(levels) {
			p.Addf("experiments.%s = %v: want ascending distinct levels", name, levels)
		}
		for _, l := range levels {
			if l < 0 || l%100 != 0 || l > 5000 || (l == 0 && !zero) {
				p.Addf("experiments.%s: level %d: want multiples of 100 in %s..5000", name, l, map[bool]string{true: "0", false: "100"}[zero])
			}
		}
	}
	check("levels", e.Levels, true)
	check("synthetic_only", e.SyntheticOnly, false)
	check("mixing", e.Mixing, false)
	check("site_conditioned", e.SiteConditioned, false)
	if len(e.Levels) == 0 || e.Levels[0] != 0 {
		p.Addf("experiments.levels = %v: must start with 0 (the real-only baseline)", e.Levels)
	}
	if e.FederationLevel <= 0 || !slices.Contains(e.Levels, e.FederationLevel) {
		p.Addf("experiments.federation_level = %d: want a non-zero member of levels %v", e.FederationLevel, e.Levels)
	}
	if e.Workers < 1 || e.Workers > 64 {
		p.Addf("experiments.workers = %d: want 1..64", e.Workers)
	}
}

func (e EvalConfig) validate(p *config.Problems) {
	if e.BootstrapReps < 10 || !(e.Level > 0 && e.Level < 1) {
		p.Addf("eval: bootstrap_reps %d >= 10 and level %v in (0,1) required", e.BootstrapReps, e.Level)
	}
	if e.QualityImages < 10 || e.PRNeighbours < 1 || !(e.MemorisationPercentile > 0 && e.MemorisationPercentile < 100) {
		p.Addf("eval: quality_images %d >= 10, pr_neighbours %d >= 1, memorisation_percentile %v in (0,100) required", e.QualityImages, e.PRNeighbours, e.MemorisationPercentile)
	}
	if !(e.TargetHalfWidth >= 0 && e.TargetHalfWidth < 0.5) {
		p.Addf("eval.target_half_width = %v: want in [0, 0.5)", e.TargetHalfWidth)
	}
	if e.GridConditions < 0 || e.GridImages < 0 {
		p.Addf("eval: grid_conditions %d and grid_images %d must be >= 0", e.GridConditions, e.GridImages)
	}
}
