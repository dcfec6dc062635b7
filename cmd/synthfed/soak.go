package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/sims/soak"
)

func init() { register(newSoakCmd) }

func newSoakCmd() *cobra.Command {
	cfg := soak.DefaultConfig()
	var jsonOut string
	var seed int64
	cmd := &cobra.Command{
		Use:   "soak [--sites N] [--duration D] [--seed S] [--out DIR]",
		Short: "Run a consortium of real processes under a seeded chaos schedule and check invariants",
		Long: `soak provisions a consortium (kits, a data folder per site), starts the real
coordinator and N real site agents (mTLS, secure aggregation), submits jobs of
logistic regression one after another for the duration, and injects a chaos
schedule drawn from the seed: kill -9 of agents (up to and beyond the quorum),
kill -9 of the coordinator mid-round and mid-secure-aggregation with a
restart, a stall beyond the deadline, a partition, a data folder taken away,
the coordinator's disk full (its data folder is a tmpfs of its own when run
as root), a corrupted checkpoint, a revoked certificate.

Where the members run (--mode):
  containers  each its own container from the project's image (make image) on
              a private Docker network; a stall is docker pause, a partition
              docker network disconnect, links shaped with tbf.
  netns       root only: each a process in a network namespace of its own
              (ip netns), linked by a veth pair to a bridge in the run's own
              switch namespace, with its own address in 10.150-199.x.x/20; a
              stall is SIGSTOP, a partition the site's switch port set down,
              links shaped with tbf where the kernel has it.
  processes   processes on loopback; each site dials through an in-process
              fault proxy, which makes the partitions.
  auto        containers when a Docker Engine answers and has the image, else
              netns when run as root and a throwaway namespace can be made,
              else processes.

At the end it prints each invariant held or broken, the resource figures and
the recovery times, writes them to --json, and exits 1 if an invariant broke.
Everything it started is stopped and everything it created (containers,
networks, namespaces, links, mounts) removed, after a failure or Ctrl-C too.
Containers and networks carry the label synthfed.soak=<run>; namespaces are
named sfsoak-<run>-<member> and the run's one host link sfh<run>, recorded in
/run/synthfed-soak. A run first removes what a dead soak left. Logs and kits
stay in --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			if cfg.Binary == "" {
				if cfg.Binary, err = os.Executable(); err != nil {
					return err
				}
			}
			cfg.Seed = uint64(seed)
			if err := cfg.Validate(); err != nil {
				return withExitCode(2, err)
			}
			res, err := soak.Run(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			if jsonOut != "" {
				if err := res.WriteJSON(jsonOut); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", jsonOut)
			}
			if !res.Report.Held {
				return errors.New("soak: an invariant broke")
			}
			if res.History.Interrupted {
				return errors.New("soak: interrupted before its end (everything it started is stopped and removed)")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Sites, "sites", cfg.Sites, "number of site-agent processes")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long jobs run and faults are injected")
	f.Int64Var(&seed, "seed", int64(cfg.Seed), "seed of the chaos schedule, the data and the jobs")
	f.StringVar(&cfg.Out, "out", cfg.Out, "run folder (kits, data, logs); replaced if an earlier soak left it")
	f.StringVar(&jsonOut, "json", filepath.Join("bench", "out", "soak.json"), "write the result as JSON here (empty: do not)")
	f.DurationVar(&cfg.FaultGap, "fault-gap", cfg.FaultGap, "mean time between faults")
	f.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds per job")
	f.DurationVar(&cfg.Deadline, "deadline", cfg.Deadline, "the jobs' phase deadline")
	f.DurationVar(&cfg.TrainDelay, "train-delay", cfg.TrainDelay, "simulated compute per local training call")
	f.StringVar(&cfg.Binary, "binary", "", "synthfed executable to run (default: this one)")
	f.StringVar(&cfg.Mode, "mode", cfg.Mode, "where members run: auto (containers when Docker has the image, else netns as root, else processes), containers, netns or processes")
	f.StringVar(&cfg.Image, "image", cfg.Image, "the containers mode's image (make image)")
	f.IntVar(&cfg.CPUShares, "cpu-shares", 0, "containers mode: docker --cpu-shares of every container (2 is about nice 19; 0: default)")
	f.StringVar(&cfg.LinkRate, "link-rate", cfg.LinkRate, "containers and netns modes: shape each site's link with tbf at this tc rate (empty: not shaped)")
	f.Func("faults", "comma-separated fault kinds to draw (default: all)", func(s string) error {
		for _, k := range strings.Split(s, ",") {
			cfg.Kinds = append(cfg.Kinds, soak.Kind(strings.TrimSpace(k)))
		}
		return nil
	})
	return cmd
}
