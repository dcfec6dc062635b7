package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

func init() { register(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the coordinator's health and every site's state and last error",
		Long: `status asks the coordinator's admin API (admin kit credentials, --config
admin.toml) for its health, the running job, its counters and every site: alive,
failed (by gossip or heartbeat) or absent, when it was last seen and its last
error (a failed task, a refused update, a dropout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, closeConn, err := f.dialAdmin()
			if err != nil {
				return err
			}
			defer closeConn()
			return f.watchLoop(cmd.Context(), cmd.OutOrStdout(), func(ctx context.Context, w io.Writer) (bool, error) {
				var st *fedpb.ClusterStatusReply
				if err := f.call(ctx, func(ctx context.Context) (err error) {
					st, err = cl.ClusterStatus(ctx, &fedpb.ClusterStatusRequest{})
					return err
				}); err != nil {
					return false, err
				}
				if f.json {
					return false, printJSON(w, clusterJSON(st))
				}
				return false, writeCluster(w, st)
			})
		},
	}
	f.add(cmd)
	f.addWatch(cmd)
	return cmd
}

// siteJSON is one site in status --json.
type siteJSON struct {
	Site      string    `json:"site"`
	State     string    `json:"state"`
	LastSeen  time.Time `json:"last_seen"`
	LastError string    `json:"last_error,omitempty"`
}

func clusterJSON(st *fedpb.ClusterStatusReply) map[string]any {
	sites := make([]siteJSON, 0, len(st.GetSites()))
	for _, s := range st.GetSites() {
		sites = append(sites, siteJSON{Site: s.GetSiteId(), State: s.GetState(), LastSeen: time.UnixMilli(s.GetLastSeenUnixMs()).UTC(), LastError: s.GetLastError()})
	}
	return map[string]any{"coordinator": st.GetCoordinatorId(), "health": st.GetHealth(), "started": time.UnixMilli(st.GetStartedUnixMs()).UTC(),
		"protocol_version": st.GetProtocolVersion(), "active_job": st.GetActiveJob(), "counters": st.GetCounters(), "sites": sites}
}

func writeCluster(w io.Writer, st *fedpb.ClusterStatusReply) error {
	fmt.Fprintf(w, "coordinator %s  %s  up since %s  protocol v%d  active job %s\n", st.GetCoordinatorId(), st.GetHealth(),
		time.UnixMilli(st.GetStartedUnixMs()).UTC().Format(time.RFC3339), st.GetProtocolVersion(), dash(st.GetActiveJob()))
	keys := make([]string, 0, len(st.GetCounters()))
	for k := range st.GetCounters() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, st.GetCounters()[k]))
	}
	fmt.Fprintf(w, "counters: %s\n\n", strings.Join(parts, " "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tLAST SEEN\tLAST ERROR")
	for _, s := range st.GetSites() {
		seen := "-"
		if ms := s.GetLastSeenUnixMs(); ms > 0 {
			seen = time.UnixMilli(ms).UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.GetSiteId(), s.GetState(), seen, oneLineErr(s.GetLastError()))
	}
	if len(st.GetSites()) == 0 {
		fmt.Fprintln(tw, "(no site has joined)\t\t\t")
	}
	return tw.Flush()
}

func newJobStatusCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show a job's state, rounds, per-site state and metrics, and results",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, closeConn, err := f.dialAdmin()
			if err != nil {
				return err
			}
			defer closeConn()
			return f.watchLoop(cmd.Context(), cmd.OutOrStdout(), func(ctx context.Context, w io.Writer) (bool, error) {
				var j *fedpb.GetJobReply
				if err := f.call(ctx, func(ctx context.Context) (err error) {
					j, err = cl.GetJob(ctx, &fedpb.GetJobRequest{JobId: args[0]})
					return err
				}); err != nil {
					return false, err
				}
				st := j.GetJob().GetState()
				done := st == string(coordinator.JobDone) || st == string(coordinator.JobFailed)
				if f.json {
					return done, printJSON(w, jobDetailJSON(j))
				}
				return done, writeJobDetail(w, j)
			})
		},
	}
	f.addWatch(cmd)
	return cmd
}

func jobDetailJSON(j *fedpb.GetJobReply) map[string]any {
	raw := func(b []byte) json.RawMessage {
		if len(b) == 0 {
			return json.RawMessage("null")
		}
		return b
	}
	sites := make([]coordinator.SiteTask, 0, len(j.GetSites()))
	for _, s := range j.GetSites() {
		sites = append(sites, coordinator.SiteTask{Site: s.GetSiteId(), State: s.GetState(), Reason: s.GetReason(), Metrics: s.GetMetrics()})
	}
	out := map[string]any{"job": toJobJSON(j.GetJob()), "spec": raw(j.GetSpecJson()), "rounds": raw(j.GetRoundsJson()),
		"sites": sites, "results": raw(j.GetResultsJson())}
	if h, _ := emaOutput(j); h != "" {
		out["ema_output"] = h
	}
	return out
}

func writeJobDetail(w io.Writer, j *fedpb.GetJobReply) error {
	s := j.GetJob()
	fmt.Fprintf(w, "job %s  kind %s  model %s  state %s", s.GetJobId(), s.GetKind(), dash(s.GetModel()), s.GetState())
	if s.GetState() == string(coordinator.JobRunning) {
		fmt.Fprintf(w, "  round %d/%d attempt %d phase %s", s.GetRound(), s.GetRounds(), s.GetAttempt(), s.GetPhase())
	} else {
		fmt.Fprintf(w, "  committed %d/%d", max(s.GetCommitted(), 0), s.GetRounds())
	}
	fmt.Fprintf(w, "\noutput %s\n", dash(s.GetOutput()))
	if h, r := emaOutput(j); h != "" && r > 0 {
		fmt.Fprintf(w, "ema    %s (server EMA after round %d; job:%s#ema)\n", h, r, s.GetJobId())
	} else if h != "" {
		fmt.Fprintf(w, "ema    %s (server EMA; job:%s#ema)\n", h, s.GetJobId())
	}
	if s.GetError() != "" {
		fmt.Fprintf(w, "error  %s\n", s.GetError())
	}
	if len(j.GetSites()) > 0 {
		fmt.Fprintln(w, "\nsites:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SITE\tSTATE\tREASON\tMETRICS")
		for _, st := range j.GetSites() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.GetSiteId(), st.GetState(), oneLineErr(st.GetReason()), metricText(st.GetMetrics(), 4))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeRounds(w, j.GetRoundsJson()); err != nil {
		return err
	}
	return writeResults(w, s.GetKind(), j.GetResultsJson())
}

// metricText formats up to n metrics, losses and rates first.
func metricText(m map[string]float64, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		ra, rb := metricRank(keys[a]), metricRank(keys[b])
		if ra != rb {
			return ra < rb
		}
		return keys[a] < keys[b]
	})
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, m[k]))
	}
	return dash(strings.Join(parts, " "))
}

func metricRank(k string) int {
	switch {
	case strings.Contains(k, "loss"):
		return 0
	case strings.Contains(k, "auroc"):
		return 1
	case strings.Contains(k, "per_second"):
		return 2
	}
	return 3
}

func writeRounds(w io.Writer, raw []byte) error {
	var rounds []coordinator.RoundSummary
	if len(raw) == 0 || json.Unmarshal(raw, &rounds) != nil || len(rounds) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nrounds:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUND\tACCEPTED\tDROPPED\tREJECTED\tSAMPLES\tSECONDS\tHASH\tMETRICS")
	for _, r := range rounds {
		var rej []string
		for site, why := range r.Rejected {
			rej = append(rej, site+":"+why)
		}
		sort.Strings(rej)
		secs := "-"
		if !r.Started.IsZero() {
			secs = fmt.Sprintf("%.1f", r.Finished.Sub(r.Started).Seconds())
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Round, dash(strings.Join(r.Accepted, ",")), dash(strings.Join(r.Dropped, ",")),
			dash(strings.Join(rej, ",")), r.NumSamples, secs, short(r.GlobalHash), metricText(r.Metrics, 3))
	}
	return tw.Flush()
}

// writeResults prints sample and evaluate results as tables.
func writeResults(w io.Writer, kind string, raw []byte) error {
	var bySite map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &bySite) != nil || len(bySite) == 0 {
		return nil
	}
	sites := make([]string, 0, len(bySite))
	for s := range bySite {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	fmt.Fprintln(w, "\nresults:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch kind {
	case string(coordinator.JobSample):
		fmt.Fprintln(tw, "SITE\tSET\tROWS\tLEVELS\tIMAGES\tIMAGES/S\tREUSED")
		for _, site := range sites {
			r, err := protocol.DecodeSampleResult(bySite[site])
			if err != nil {
				fmt.Fprintf(tw, "%s\t(unreadable: %v)\t\t\t\t\t\n", site, err)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%v\n", site, short(r.SetID), r.Rows, r.Levels, r.Images, num(float64(r.ImagesPerSecond)), r.Reused)
		}
	case string(coordinator.JobEvaluate):
		fmt.Fprintln(tw, "TEST SET\tMODEL\tJOB\tMACRO AUROC\t95% CI\tLABELS\tVS BASELINE (diff, p)")
		for _, site := range sites {
			r, err := protocol.DecodeEvaluateResult(bySite[site])
			if err != nil {
				fmt.Fprintf(tw, "%s\t(unreadable: %v)\t\t\t\t\t\n", site, err)
				continue
			}
			for _, m := range r.Models {
				ci, cmp := "-", "-"
				if m.MacroCI != nil {
					ci = fmt.Sprintf("[%s, %s]", num(float64(m.MacroCI.Lo)), num(float64(m.MacroCI.Hi)))
				}
				if c := m.VsBaseline; c != nil {
					cmp = fmt.Sprintf("%s, p=%s", num(float64(c.Diff)), num(float64(c.P)))
				}
				fmt.Fprintf(tw, "%s (%d images)\t%s\t%s\t%s\t%s\t%d\t%s\n", site, r.Images, short(m.Hash), dash(m.Job), num(float64(m.MacroAUROC)), ci, m.Included, cmp)
			}
		}
	}
	return tw.Flush()
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", v)
}
