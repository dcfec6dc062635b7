package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

func init() { register(newJobCmd) }

// adminFile is an admin kit's admin.toml: who the operator is, where the
// coordinator is and the operator's credentials.
type adminFile struct {
	AdminID     string       `toml:"admin_id"`
	Coordinator string       `toml:"coordinator"`
	Insecure    bool         `toml:"insecure"`
	TLS         pki.TLSFiles `toml:"tls"`
}

// adminFlags are the connection flags of the admin verbs (job, status).
type adminFlags struct {
	config, coordinator string
	insecure, json      bool
	timeout             time.Duration
	watch               bool
	interval            time.Duration
}

func (f *adminFlags) add(cmd *cobra.Command) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.config, "config", "", "admin.toml of an admin kit (synthfed provision)")
	p.StringVar(&f.coordinator, "coordinator", "", "coordinator address host:port (overrides the file)")
	p.BoolVar(&f.insecure, "insecure", false, "plaintext gRPC to an insecure (simulation) coordinator; it serves only loopback callers")
	p.BoolVar(&f.json, "json", false, "print JSON for scripts instead of tables")
	p.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each call")
}

func (f *adminFlags) addWatch(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.watch, "watch", false, "refresh until interrupted (job status: until the job ends)")
	cmd.Flags().DurationVar(&f.interval, "interval", 2*time.Second, "refresh interval of --watch")
}

// dialAdmin connects to the coordinator's admin API with the admin kit's
// credentials (or plaintext with --insecure).
func (f *adminFlags) dialAdmin() (fedpb.AdminClient, func(), error) {
	file := adminFile{}
	if f.config != "" {
		if err := config.LoadFile(f.config, &file); err != nil {
			return nil, nil, withExitCode(2, err)
		}
	}
	if f.coordinator != "" {
		file.Coordinator = f.coordinator
	}
	if f.insecure {
		file.Insecure = true
	}
	if _, _, err := net.SplitHostPort(file.Coordinator); err != nil {
		return nil, nil, withExitCode(2, fmt.Errorf("coordinator address %q: %v (set --coordinator or the admin.toml's coordinator)", file.Coordinator, err))
	}
	cred, err := f.credentials(file)
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient("passthrough:///"+file.Coordinator, grpc.WithTransportCredentials(cred))
	if err != nil {
		return nil, nil, err
	}
	return fedpb.NewAdminClient(conn), func() { conn.Close() }, nil
}

func (f *adminFlags) credentials(file adminFile) (credentials.TransportCredentials, error) {
	if file.Insecure {
		return insecure.NewCredentials(), nil
	}
	if !file.TLS.Configured() {
		return nil, withExitCode(2, errors.New("no credentials: give --config with an admin kit's admin.toml (its [tls] table), or --insecure for a simulation coordinator"))
	}
	creds, err := file.TLS.Load(filepath.Dir(f.config), nil)
	if err != nil {
		return nil, withExitCode(2, fmt.Errorf("admin credentials: %w", err))
	}
	if creds.Identity.Role != pki.RoleAdmin {
		return nil, withExitCode(2, fmt.Errorf("%s is a %s certificate; the admin API needs an admin kit: %w", creds.Identity, creds.Identity.Role, pki.ErrRole))
	}
	o := creds.TLSOptions(nil)
	o.ServerName, _, _ = net.SplitHostPort(file.Coordinator)
	tc, err := pki.ClientTLSConfig(o)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(tc), nil
}

// call runs fn with a per-call timeout and turns status errors back into
// protocol errors.
func (f *adminFlags) call(ctx context.Context, fn func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	return protocol.FromStatus(fn(cctx))
}

// watchLoop runs render now and, with --watch, every interval until ctx
// ends or render reports it is done. On a terminal each refresh redraws
// the screen; otherwise refreshes follow each other.
func (f *adminFlags) watchLoop(ctx context.Context, out io.Writer, render func(ctx context.Context, w io.Writer) (done bool, err error)) error {
	tty := isTTY(out)
	for {
		var buf strings.Builder
		done, err := render(ctx, &buf)
		if err != nil {
			return err
		}
		if f.watch && tty {
			fmt.Fprint(out, "\033[H\033[2J")
		}
		fmt.Fprint(out, buf.String())
		if !f.watch || done {
			return nil
		}
		if !tty {
			fmt.Fprintln(out)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.interval):
		}
	}
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newJobCmd() *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Submit, follow and cancel jobs through the coordinator's admin API",
		Long: `job talks to the coordinator's admin API with an admin kit's credentials
(--config admin.toml from synthfed provision). Job specs are TOML files; see
docs/jobs.md. Output is a table by default and JSON with --json.`,
	}
	f.add(cmd)
	cmd.AddCommand(newJobSubmitCmd(f), newJobListCmd(f), newJobStatusCmd(f), newJobCancelCmd(f), newJobLogsCmd(f))
	return cmd
}

func newJobSubmitCmd(f *adminFlags) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "submit FILE",
		Short: "Submit a job spec (TOML); prints the job ID(s)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return withExitCode(2, err)
			}
			if err := checkSpec(data, args[0]); err != nil {
				return withExitCode(2, err)
			}
			cl, closeConn, err := f.dialAdmin()
			if err != nil {
				return err
			}
			defer closeConn()
			var reply *fedpb.SubmitJobReply
			err = f.call(cmd.Context(), func(ctx context.Context) (err error) {
				reply, err = cl.SubmitJob(ctx, &fedpb.SubmitJobRequest{SpecToml: data, Name: filepath.Base(args[0])})
				return err
			})
			if err != nil {
				if errors.Is(err, protocol.ErrMalformed) {
					return withExitCode(2, err)
				}
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				if err := printJSON(out, map[string]any{"job_ids": reply.GetJobIds()}); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(out, strings.Join(reply.GetJobIds(), "\n"))
			}
			if !wait {
				return nil
			}
			return waitJobs(cmd.Context(), f, cl, reply.GetJobIds(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job(s) end; exit 1 if one failed")
	return cmd
}

// checkSpec validates a spec locally as the coordinator will (strict keys
// with file:line, every problem at once, the model configuration).
func checkSpec(data []byte, name string) error {
	spec, err := coordinator.DecodeJobSpec(data, name)
	if err != nil {
		return err
	}
	if spec.Kind != coordinator.JobTrain || len(spec.ModelConfig) == 0 {
		return nil
	}
	raw, err := json.Marshal(spec.ModelConfig)
	if err == nil {
		err = siteagent.CheckModelConfig(spec.Model, raw)
	}
	if err != nil {
		return fmt.Errorf("%s: model_config: %w", name, err)
	}
	return nil
}

// waitJobs polls until every job ended; it fails when one failed.
func waitJobs(ctx context.Context, f *adminFlags, cl fedpb.AdminClient, ids []string, log io.Writer) error {
	var failed []string
	for _, id := range ids {
		for {
			var j *fedpb.GetJobReply
			err := f.call(ctx, func(ctx context.Context) (err error) {
				j, err = cl.GetJob(ctx, &fedpb.GetJobRequest{JobId: id})
				return err
			})
			if err != nil {
				return err
			}
			s := j.GetJob()
			if s.GetState() == string(coordinator.JobDone) || s.GetState() == string(coordinator.JobFailed) {
				fmt.Fprintf(log, "job %s %s %s %s\n", id, s.GetState(), s.GetOutput(), s.GetError())
				if s.GetState() == string(coordinator.JobFailed) {
					failed = append(failed, id)
				}
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("job(s) %s failed (see synthfed job logs)", strings.Join(failed, ", "))
	}
	return nil
}

func newJobListCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs with their state, round and output hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, closeConn, err := f.dialAdmin()
			if err != nil {
				return err
			}
			defer closeConn()
			return f.watchLoop(cmd.Context(), cmd.OutOrStdout(), func(ctx context.Context, w io.Writer) (bool, error) {
				var reply *fedpb.ListJobsReply
				err := f.call(ctx, func(ctx context.Context) (err error) {
					reply, err = cl.ListJobs(ctx, &fedpb.ListJobsRequest{})
					return err
				})
				if err != nil {
					return false, err
				}
				if f.json {
					return false, printJSON(w, jobsJSON(reply.GetJobs()))
				}
				return false, writeJobTable(w, reply.GetJobs())
			})
		},
	}
	f.addWatch(cmd)
	return cmd
}

// jobJSON is a job summary for --json output.
type jobJSON struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Model     string `json:"model,omitempty"`
	State     string `json:"state"`
	Committed int64  `json:"committed"`
	Rounds    int64  `json:"rounds"`
	Round     int64  `json:"round"`
	Attempt   int32  `json:"attempt"`
	Phase     string `json:"phase,omitempty"`
	Output    string `json:"output,omitempty"`
	// EMAOutput is a train job's server EMA (job:<id>#ema), when it keeps one.
	EMAOutput string   `json:"ema_output,omitempty"`
	Error     string   `json:"error,omitempty"`
	Sites     []string `json:"sites,omitempty"`
}

func toJobJSON(j *fedpb.JobSummary) jobJSON {
	return jobJSON{ID: j.GetJobId(), Kind: j.GetKind(), Model: j.GetModel(), State: j.GetState(), Committed: j.GetCommitted(),
		Rounds: j.GetRounds(), Round: j.GetRound(), Attempt: j.GetAttempt(), Phase: j.GetPhase(), Output: j.GetOutput(),
		EMAOutput: j.GetEmaOutput(), Error: j.GetError(), Sites: j.GetSites()}
}

func jobsJSON(jobs []*fedpb.JobSummary) []jobJSON {
	out := make([]jobJSON, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, toJobJSON(j))
	}
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func writeJobTable(w io.Writer, jobs []*fedpb.JobSummary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tKIND\tMODEL\tSTATE\tROUND\tPHASE\tOUTPUT\tERROR")
	for _, j := range jobs {
		round := fmt.Sprintf("%d/%d", max(j.GetCommitted(), 0), j.GetRounds())
		if j.GetState() == string(coordinator.JobRunning) {
			round = fmt.Sprintf("%d/%d (attempt %d)", j.GetRound(), j.GetRounds(), j.GetAttempt())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.GetJobId(), j.GetKind(), j.GetModel(), j.GetState(), round,
			dash(j.GetPhase()), dash(short(j.GetOutput())), oneLineErr(j.GetError()))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLineErr(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return dash(s)
}

func newJobCancelCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a pending or running job (it ends as failed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, closeConn, err := f.dialAdmin()
			if err != nil {
				return err
			}
			defer closeConn()
			var reply *fedpb.CancelJobReply
			if err := f.call(cmd.Context(), func(ctx context.Context) (err error) {
				reply, err = cl.CancelJob(ctx, &fedpb.CancelJobRequest{JobId: args[0]})
				return err
			}); err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"id": args[0], "state": reply.GetState()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s cancelled\n", args[0])
			return nil
		},
	}
}

func newJobLogsCmd(f *adminFlags) *cobra.Command {
	var site string
	cmd := &cobra.Command{
		Use:   "logs ID [--site S]",
		Short: "Print a job's failure log: what failed, where and why, per site",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, closeConn, err := f.dialAdmin()
			if err != nil {
				return err
			}
			defer closeConn()
			var reply *fedpb.JobLogsReply
			if err := f.call(cmd.Context(), func(ctx context.Context) (err error) {
				reply, err = cl.JobLogs(ctx, &fedpb.JobLogsRequest{JobId: args[0], SiteId: site})
				return err
			}); err != nil {
				return err
			}
			return writeLogs(cmd.OutOrStdout(), reply.GetEntries(), f.json)
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "only this site's failures (and the job-wide ones)")
	return cmd
}

func writeLogs(w io.Writer, entries []*fedpb.LogEntry, asJSON bool) error {
	fs := make([]coordinator.Failure, 0, len(entries))
	for _, e := range entries {
		fs = append(fs, coordinator.Failure{Time: time.UnixMilli(e.GetTimeUnixMs()), Site: e.GetSiteId(), Round: int(e.GetRound()),
			Attempt: int(e.GetAttempt()), What: e.GetWhat(), Where: e.GetWhere(), Why: e.GetWhy()})
	}
	if asJSON {
		return printJSON(w, fs)
	}
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "no failures")
		return err
	}
	sort.SliceStable(fs, func(a, b int) bool { return fs[a].Time.Before(fs[b].Time) })
	for _, fl := range fs {
		if _, err := fmt.Fprintln(w, fl.String()); err != nil {
			return err
		}
	}
	return nil
}

// emaOutput returns a train job's server EMA hash and its round: the
// summary's ema_output (an older coordinator's replies lack it: then the
// last committed round's summary that has one), and the round that
// committed it (0 when the rounds do not say); empty when the job keeps
// none.
func emaOutput(j *fedpb.GetJobReply) (string, int) {
	var rounds []coordinator.RoundSummary
	if raw := j.GetRoundsJson(); len(raw) > 0 && json.Unmarshal(raw, &rounds) != nil {
		rounds = nil
	}
	want := j.GetJob().GetEmaOutput()
	for i := len(rounds) - 1; i >= 0; i-- {
		if h := rounds[i].EMAHash; h != "" && (want == "" || h == want) {
			return h, rounds[i].Round
		}
	}
	return want, 0
}
