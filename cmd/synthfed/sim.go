package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/eval/report"
	"github.com/synthfed/synthfed/sims/cluster"
	"github.com/synthfed/synthfed/sims/study"
)

func init() { register(newSimCmd) }

// simFlags are the sim subcommand's flags.
type simFlags struct {
	cfgPath, out, profile string
	plan                  bool
	// The logreg profile's flags.
	transport, strategy string
	sites, rounds       int
	seed                int64
	gossip              bool
	// device is where the simulated sites compute; deviceJobs bounds
	// their concurrent jobs on an OpenCL device.
	device     string
	deviceJobs int
}

// logregProfile names the foundation's small consortium (logistic
// regression over loopback), kept for quick protocol checks.
const logregProfile = "logreg"

func newSimCmd() *cobra.Command {
	var fl simFlags
	cmd := &cobra.Command{
		Use:   "sim --out DIR [--profile quick|standard|paper|tiny|logreg] [--config FILE] | sim --plan [--profile P] [--config FILE]",
		Short: "Run the study's experiments in a simulated federated consortium and write DIR/report.html",
		Long: `sim runs the study end to end on one machine: it renders a phantom consortium
of hospitals (DIR/data, CheXpert folders), starts the real coordinator and one
real site agent per hospital over loopback gRPC with mTLS from kits it
provisions itself (DIR/consortium), trains the conditional DDPM federated
(FedAvg, EMA) and each site's DDPM alone, samples synthetic replicas of every
site's training rows, trains the classifiers of experiments E1-E4
(supplementation, synthetic only, mixing sources, what federation adds, with a
FedAvg and a central pooled classifier), scores them internally and externally
with bootstrap CIs and DeLong p-values, measures synthetic-image quality and
memorisation, and writes DIR/results.json, DIR/report.md and DIR/report.html.

Profiles (embedded): quick (the default, under 10 minutes on 2 cores), paper
(the full design, hours), tiny (seconds, for tests) and logreg (the
foundation's 3-site logistic-regression consortium; --sites, --rounds,
--transport, --strategy, --seed and --gossip apply to it only, and select it
when no --profile is given, as does a --config file in its format, with a
[job] or [logreg] table). --config overlays a TOML file on the profile
(strict: unknown keys are errors naming the line). --plan measures this machine's unit costs and prints the estimated
time of each phase without running (on the CPU path). Progress goes to stdout (a bar on a
terminal, log lines otherwise); component logs go to DIR/sim.log.

--device (default cpu) is where every simulated site trains and samples:
"auto" takes the first OpenCL GPU (else the CPU, saying why), "opencl:N"
names a device (synthfed devices; pocl's CPU device must be named). The
sites share the one device; --device-jobs K bounds their train and sample
jobs on it at once, the others waiting in line in the order they asked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl.out == "" && !fl.plan {
				return withExitCode(2, fmt.Errorf("required flag --out not set (only --plan runs without an output folder)"))
			}
			if err := checkSimDevice(fl.device, fl.deviceJobs); err != nil {
				return err
			}
			logreg, err := wantsLogreg(cmd, fl)
			if err != nil {
				return withExitCode(2, err)
			}
			if logreg {
				return runLogregSim(cmd, fl)
			}
			return runStudySim(cmd, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.cfgPath, "config", "", "TOML file over the profile")
	f.StringVar(&fl.out, "out", "", "output directory (required unless --plan)")
	f.StringVar(&fl.profile, "profile", study.DefaultProfile, "embedded profile: "+strings.Join(append(study.Profiles(), logregProfile), ", "))
	f.BoolVar(&fl.plan, "plan", false, "measure unit costs, print the per-phase time budget and exit")
	f.IntVar(&fl.sites, "sites", 3, "logreg profile: number of sites")
	f.IntVar(&fl.rounds, "rounds", 5, "logreg profile: training rounds")
	f.StringVar(&fl.transport, "transport", "tcp", "logreg profile: tcp (loopback) or bufconn (in memory)")
	f.StringVar(&fl.strategy, "strategy", "fedavg", "logreg profile: fedavg, fedprox, fedadam, fedyogi or fedbn")
	f.Int64Var(&fl.seed, "seed", 1, "logreg profile: seed for the data and the job")
	f.BoolVar(&fl.gossip, "gossip", false, "logreg profile: memberlist failure detection on loopback")
	f.StringVar(&fl.device, "device", defaultSimDevice, `where the sites train and sample: "cpu", "auto" (the first OpenCL GPU, else the CPU) or "opencl:N" (synthfed devices lists them); all sites share it`)
	f.IntVar(&fl.deviceJobs, "device-jobs", 1, "with an OpenCL --device: the most site jobs (train, sample) on the device at once; the others wait in line")
	return cmd
}

// wantsLogreg decides whether a run is the logreg consortium: --profile
// logreg, or no --profile with the logreg flags or a --config file in the
// consortium format (the foundation's examples/sim.toml). It refuses the
// logreg flags with a study profile.
func wantsLogreg(cmd *cobra.Command, fl simFlags) (bool, error) {
	if fl.profile == logregProfile {
		return true, nil
	}
	var set []string
	for _, n := range []string{"sites", "rounds", "transport", "strategy", "seed", "gossip"} {
		if cmd.Flags().Changed(n) {
			set = append(set, "--"+n)
		}
	}
	explicit := cmd.Flags().Changed("profile")
	if len(set) > 0 && explicit {
		return false, fmt.Errorf("%s apply to --profile %s only; set the study's values in a --config file", strings.Join(set, ", "), logregProfile)
	}
	if explicit {
		return false, nil
	}
	if len(set) > 0 {
		return true, nil
	}
	return fl.cfgPath != "" && isConsortiumFile(fl.cfgPath), nil
}

// consortiumOnlyKeys are top-level keys of the logreg consortium's file
// format that the study's format does not have.
var consortiumOnlyKeys = []string{"names", "transport", "gossip", "tls", "heartbeat_interval", "heartbeat_timeout", "job", "logreg"}

// isConsortiumFile reports whether a TOML file is in the logreg
// consortium's format: it has one of its keys and none of the study's. A
// file that does not parse is left to the study's strict loader to report.
func isConsortiumFile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]any
	if toml.Unmarshal(data, &top) != nil {
		return false
	}
	for _, k := range []string{"profile", "title", "seeds", "data", "consortium", "ddpm", "classifier", "experiments", "eval"} {
		if _, ok := top[k]; ok {
			return false
		}
	}
	for _, k := range consortiumOnlyKeys {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// runStudySim runs a study profile.
func runStudySim(cmd *cobra.Command, fl simFlags) error {
	cfg, err := study.Profile(fl.profile)
	if err != nil {
		return withExitCode(2, err)
	}
	if fl.cfgPath != "" {
		if cfg, err = study.LoadConfig(fl.cfgPath, cfg); err != nil {
			return withExitCode(2, err)
		}
	}
	w := cmd.OutOrStdout()
	if fl.plan {
		costs, err := study.Calibrate(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "profile %s: estimated wall time on this machine\n", cfg.Profile)
		study.EstimateBudget(cfg, costs).Write(w)
		return nil
	}
	if err := os.MkdirAll(fl.out, 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(fl.out, "sim.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log, err := newLogger(logFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sim: profile %s, %d sites, %dx%d images, DDPM %d rounds x %d steps, levels %v; logs in %s\n",
		cfg.Profile, cfg.Sites, cfg.Data.Size, cfg.Data.Size, cfg.DDPM.Rounds, cfg.DDPM.LocalSteps, cfg.Experiments.Levels, logFile.Name())
	dev, err := openSimDevice(fl.device, fl.deviceJobs, log)
	if err != nil {
		return err
	}
	defer dev.Close()
	dev.describe(w)
	res, err := study.Run(cmd.Context(), cfg, fl.out, study.Options{Logger: log, Progress: study.NewProgress(w, isTerminal(w), nil),
		Compute: dev.backend, Slots: dev.slots})
	dev.report(w)
	if err != nil {
		return err
	}
	printStudy(w, res, fl.out)
	return nil
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printStudy prints the phases, the findings and where the report is.
func printStudy(w io.Writer, res *report.Results, out string) {
	total := 0.0
	fmt.Fprintln(w, "wall time by phase:")
	for _, p := range res.Phases {
		fmt.Fprintf(w, "  %-42s %7.1fs\n", p.Name, p.WallSeconds)
		if !strings.Contains(p.Name, "(within") {
			total += p.WallSeconds
		}
	}
	fmt.Fprintf(w, "  %-42s %7.1fs\n", "total", total)
	for _, f := range res.Findings {
		verdict := "NOT REPRODUCED"
		if f.Reproduced {
			verdict = "REPRODUCED"
		}
		fmt.Fprintf(w, "%s: %s\n  %s\n", verdict, f.Finding, f.Evidence)
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(out, "report.html"))
}

// runLogregSim runs the foundation's logistic-regression consortium.
func runLogregSim(cmd *cobra.Command, fl simFlags) error {
	log, err := stderrLogger()
	if err != nil {
		return err
	}
	cfg := cluster.DefaultConfig()
	if fl.cfgPath != "" {
		if cfg, err = cluster.LoadConfig(fl.cfgPath); err != nil {
			return withExitCode(2, err)
		}
	}
	f := cmd.Flags()
	if f.Changed("sites") {
		cfg.Sites = fl.sites
	}
	if f.Changed("rounds") {
		cfg.Job.Rounds = fl.rounds
	}
	if f.Changed("transport") {
		cfg.Transport = fl.transport
	}
	if f.Changed("strategy") {
		cfg.Job.Strategy.Name = fl.strategy
	}
	if f.Changed("seed") {
		cfg.Job.Seed, cfg.Logreg.DataSeed = fl.seed, uint64(fl.seed)
	}
	if f.Changed("gossip") {
		cfg.Gossip = fl.gossip
	}
	if err := cfg.Validate(); err != nil {
		return withExitCode(2, err)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "sim: %d sites over %s, job %s: %s, %d rounds, quorum %d\n", cfg.Sites, cfg.Transport, cfg.Job.ID, cfg.Job.Strategy.Name, cfg.Job.Rounds, cfg.Job.Quorum)
	dev, err := openSimDevice(fl.device, fl.deviceJobs, log)
	if err != nil {
		return err
	}
	defer dev.Close()
	dev.describe(w)
	res, err := cluster.Run(cmd.Context(), cfg, fl.out, cluster.Options{Logger: log, OnCommit: func(s coordinator.RoundSummary) { printRound(w, s) },
		Compute: dev.backend, Slots: dev.slots})
	dev.report(w)
	if err != nil {
		return err
	}
	printFinal(w, res)
	if res.State != coordinator.JobDone {
		return fmt.Errorf("job %s %s: %s", cfg.Job.ID, res.State, res.Error)
	}
	return nil
}

func printRound(w io.Writer, s coordinator.RoundSummary) {
	if s.Round == 0 {
		fmt.Fprintf(w, "round %2d  initial model %.12s\n", s.Round, s.GlobalHash)
		return
	}
	fmt.Fprintf(w, "round %2d  accepted %d/%d  %s hash %.12s\n", s.Round, len(s.Accepted), len(s.Cohort), formatMetrics(s.Metrics), s.GlobalHash)
}

func printFinal(w io.Writer, res *cluster.Result) {
	fmt.Fprintf(w, "job %s after %.2fs; final model %.12s\n", res.State, res.Seconds, res.FinalHash)
	for _, site := range res.Sites {
		if m, ok := res.Final[site]; ok {
			fmt.Fprintf(w, "  %-8s %s\n", site, formatMetrics(m))
		}
	}
}

func formatMetrics(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %.4f  ", k, m[k])
	}
	return b.String()
}
