package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/synthfed/synthfed/coordinator/engine"
	"net"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc/peer"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// AdminAuthorizer decides whether the caller of an admin call is an
// operator and returns its identity for the audit log, or an error
// wrapping protocol.ErrPermission.
type AdminAuthorizer func(ctx context.Context) (string, error)

// authorizeAdmin applies Options.AdminAuth, or the default policy: with
// TLS, the caller's verified certificate must carry an admin identity
// (synthfed://admin/<id>) from the consortium CA; in insecure mode, where
// no caller can be identified, only loopback callers are served.
func (c *Coordinator) authorizeAdmin(ctx context.Context) (string, error) {
	if c.opts.AdminAuth != nil {
		return c.opts.AdminAuth(ctx)
	}
	if c.opts.Security.TLS != nil {
		id, err := pki.PeerIdentityFromContext(ctx)
		if err != nil {
			return "", fmt.Errorf("admin API: %w: %w", protocol.ErrPermission, err)
		}
		if id.Role != pki.RoleAdmin {
			return "", fmt.Errorf("admin API needs an admin certificate of the consortium CA; caller is %s: %w", id, protocol.ErrPermission)
		}
		return "admin/" + id.ID, nil
	}
	p, ok := peer.FromContext(ctx)
	if ok {
		if ta, isTCP := p.Addr.(*net.TCPAddr); isTCP && ta.IP.IsLoopback() {
			return "insecure@" + ta.String(), nil
		}
	}
	addr := "unknown"
	if ok {
		addr = p.Addr.String()
	}
	return "", fmt.Errorf("admin API in insecure mode serves only loopback callers (caller %s); use mTLS with an admin kit: %w", addr, protocol.ErrPermission)
}

// adminService implements fedpb.AdminServer.
type adminService struct {
	fedpb.UnimplementedAdminServer
	c *Coordinator
}

// adminErr maps an error to the protocol sentinel that decides its status.
func adminErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrJobExists):
		return fmt.Errorf("%w: %w", protocol.ErrDuplicate, err)
	case errors.Is(err, ErrReference):
		return fmt.Errorf("%w: %w", protocol.ErrNotFound, err)
	case errors.Is(err, ErrJobEnded):
		return fmt.Errorf("%w: %w", protocol.ErrStale, err)
	case errors.Is(err, config.ErrInvalid):
		return fmt.Errorf("%w: %w", protocol.ErrMalformed, err)
	}
	return err
}

func (s *adminService) guard(ctx context.Context, what string) (string, error) {
	who, err := s.c.authorizeAdmin(ctx)
	if err != nil {
		s.c.log.Warn("admin call refused", "call", what, "err", err)
		return "", protocol.ToStatus(err)
	}
	return who, nil
}

func (s *adminService) SubmitJob(ctx context.Context, req *fedpb.SubmitJobRequest) (*fedpb.SubmitJobReply, error) {
	who, err := s.guard(ctx, "SubmitJob")
	if err != nil {
		return nil, err
	}
	if len(req.GetSpecToml()) > protocol.MaxContextBytes {
		return nil, protocol.ToStatus(fmt.Errorf("job spec of %d bytes: %w", len(req.GetSpecToml()), protocol.ErrTooLarge))
	}
	name := req.GetName()
	if name == "" {
		name = "job spec"
	}
	spec, err := DecodeJobSpec(req.GetSpecToml(), name)
	if err != nil {
		return nil, protocol.ToStatus(adminErr(err))
	}
	ids, err := s.c.SubmitJobs(ctx, spec)
	if err != nil {
		return nil, protocol.ToStatus(adminErr(err))
	}
	s.c.log.Info("job submitted", "by", who, "job", spec.ID, "kind", spec.Kind, "jobs", ids)
	return &fedpb.SubmitJobReply{JobIds: ids}, nil
}

func (s *adminService) ListJobs(ctx context.Context, _ *fedpb.ListJobsRequest) (*fedpb.ListJobsReply, error) {
	if _, err := s.guard(ctx, "ListJobs"); err != nil {
		return nil, err
	}
	jobs, err := s.c.jobSummaries(ctx)
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	return &fedpb.ListJobsReply{Jobs: jobs}, nil
}

// jobSummaries lists the stored jobs of earlier runs (by ID) and then this
// run's jobs in submission order, with the Engine's live state.
func (c *Coordinator) jobSummaries(ctx context.Context) ([]*fedpb.JobSummary, error) {
	recs, err := c.store.Jobs()
	if err != nil {
		return nil, err
	}
	var live []JobStatus
	if err := c.do(ctx, func() { live = c.engine.Jobs() }); err != nil {
		return nil, err
	}
	isLive := map[string]bool{}
	for _, st := range live {
		isLive[st.ID] = true
	}
	byID := map[string]JobRecord{}
	var out []*fedpb.JobSummary
	for _, rec := range recs {
		byID[rec.Spec.ID] = rec
		if !isLive[rec.Spec.ID] {
			out = append(out, storedSummary(rec))
		}
	}
	for _, st := range live {
		out = append(out, liveSummary(st, byID[st.ID].Spec))
	}
	return out, nil
}

func storedSummary(rec JobRecord) *fedpb.JobSummary {
	return &fedpb.JobSummary{JobId: rec.Spec.ID, Kind: string(rec.Spec.Kind), Model: rec.Spec.Model, State: string(rec.State),
		Committed: int64(rec.Committed), Rounds: int64(jobRounds(rec.Spec)), Output: rec.GlobalHash, Error: rec.Err, Sites: rec.Spec.Sites,
		EmaOutput: rec.EMAHash}
}

func liveSummary(st JobStatus, spec JobSpec) *fedpb.JobSummary {
	return &fedpb.JobSummary{JobId: st.ID, Kind: string(st.Kind), Model: st.Model, State: string(st.State), Committed: int64(st.Committed),
		Rounds: int64(st.Rounds), Round: int64(st.Round), Attempt: int32(st.Attempt), Phase: string(st.Phase), Output: st.Output,
		Error: st.Err, Sites: spec.Sites, EmaOutput: st.EMAOutput}
}

func jobRounds(s JobSpec) int {
	if s.Kind != JobTrain {
		return 1
	}
	return s.Rounds
}

func (s *adminService) GetJob(ctx context.Context, req *fedpb.GetJobRequest) (*fedpb.GetJobReply, error) {
	if _, err := s.guard(ctx, "GetJob"); err != nil {
		return nil, err
	}
	reply, err := s.c.jobDetail(ctx, req.GetJobId())
	return reply, protocol.ToStatus(err)
}

// jobDetail gathers a job's summary, spec, rounds, sites and results.
func (c *Coordinator) jobDetail(ctx context.Context, id string) (*fedpb.GetJobReply, error) {
	rec, err := c.Job(id)
	if err != nil {
		return nil, err
	}
	reply := &fedpb.GetJobReply{Job: storedSummary(rec)}
	var sites []SiteTask
	err = c.do(ctx, func() {
		if st, ok := c.engine.Job(id); ok {
			reply.Job = liveSummary(st, rec.Spec)
		}
		sites = c.engine.RoundSites(id)
	})
	if err != nil {
		return nil, err
	}
	if reply.SpecJson, err = json.Marshal(rec.Spec); err != nil {
		return nil, err
	}
	rounds, err := c.Rounds(id)
	if err != nil {
		return nil, err
	}
	sums := make([]RoundSummary, 0, len(rounds))
	for _, r := range rounds {
		sums = append(sums, r.Summary)
	}
	if res, found, err := c.store.Results(id); err != nil {
		return nil, err
	} else if found {
		if reply.ResultsJson, err = json.Marshal(res.Results); err != nil {
			return nil, err
		}
		sums = append(sums, res.summary())
	}
	if reply.RoundsJson, err = json.Marshal(sums); err != nil {
		return nil, err
	}
	if sites == nil && len(sums) > 0 {
		sites = lastRoundSites(sums[len(sums)-1])
	}
	for _, st := range sites {
		reply.Sites = append(reply.Sites, &fedpb.SiteTask{SiteId: st.Site, State: st.State, Reason: st.Reason, Metrics: st.Metrics})
	}
	return reply, nil
}

// summary is a minimal round summary of a results record.
func (r ResultRecord) summary() RoundSummary {
	s := RoundSummary{Job: r.Job, Round: r.Round, GlobalHash: r.Output}
	for site := range r.Results {
		s.Accepted = append(s.Accepted, site)
	}
	sort.Strings(s.Accepted)
	return s
}

// lastRoundSites describes each site of a finished round.
func lastRoundSites(s RoundSummary) []SiteTask {
	var out []SiteTask
	for _, site := range s.Cohort {
		st := SiteTask{Site: site, State: "pending", Metrics: s.SiteMetrics[site]}
		switch {
		case slices.Contains(s.Accepted, site):
			st.State = "accepted"
		case slices.Contains(s.Dropped, site):
			st.State = "dropped"
		}
		if reason, ok := s.Rejected[site]; ok {
			st.State, st.Reason = "rejected", reason
		}
		out = append(out, st)
	}
	if len(s.Cohort) == 0 {
		for _, site := range s.Accepted {
			out = append(out, SiteTask{Site: site, State: "accepted", Metrics: s.SiteMetrics[site]})
		}
	}
	return out
}

func (s *adminService) CancelJob(ctx context.Context, req *fedpb.CancelJobRequest) (*fedpb.CancelJobReply, error) {
	who, err := s.guard(ctx, "CancelJob")
	if err != nil {
		return nil, err
	}
	c := s.c
	if _, err := c.Job(req.GetJobId()); err != nil {
		return nil, protocol.ToStatus(err)
	}
	var cerr error
	if err := c.do(ctx, func() { cerr = c.step(engine.Cancel{Job: req.GetJobId(), By: who}) }); err != nil {
		return nil, protocol.ToStatus(err)
	}
	if errors.Is(cerr, protocol.ErrNotFound) { // in the store only: it ended in an earlier run
		cerr = fmt.Errorf("job %s: %w", req.GetJobId(), ErrJobEnded)
	}
	if cerr != nil {
		return nil, protocol.ToStatus(adminErr(cerr))
	}
	c.log.Info("job cancelled", "job", req.GetJobId(), "by", who)
	return &fedpb.CancelJobReply{State: string(JobFailed)}, nil
}

func (s *adminService) JobLogs(ctx context.Context, req *fedpb.JobLogsRequest) (*fedpb.JobLogsReply, error) {
	if _, err := s.guard(ctx, "JobLogs"); err != nil {
		return nil, err
	}
	if _, err := s.c.Job(req.GetJobId()); err != nil {
		return nil, protocol.ToStatus(err)
	}
	log, err := s.c.FailureLog(req.GetJobId(), req.GetSiteId())
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	reply := &fedpb.JobLogsReply{}
	for _, f := range log {
		reply.Entries = append(reply.Entries, &fedpb.LogEntry{TimeUnixMs: f.Time.UnixMilli(), SiteId: f.Site, Round: int64(f.Round),
			Attempt: int32(f.Attempt), What: f.What, Where: f.Where, Why: f.Why})
	}
	return reply, nil
}

func (s *adminService) ClusterStatus(ctx context.Context, _ *fedpb.ClusterStatusRequest) (*fedpb.ClusterStatusReply, error) {
	if _, err := s.guard(ctx, "ClusterStatus"); err != nil {
		return nil, err
	}
	reply, err := s.c.clusterStatus(ctx)
	return reply, protocol.ToStatus(err)
}

// clusterStatus reads the coordinator's and the sites' state on the loop.
func (c *Coordinator) clusterStatus(ctx context.Context) (*fedpb.ClusterStatusReply, error) {
	reply := &fedpb.ClusterStatusReply{CoordinatorId: c.cfg.ID, Health: "SERVING", StartedUnixMs: c.ops.started.UnixMilli(),
		ProtocolVersion: protocol.Version, Counters: map[string]int64{}}
	select {
	case <-c.draining:
		reply.Health = "NOT_SERVING"
	default:
	}
	err := c.do(ctx, func() {
		if st, ok := c.engine.Active(); ok {
			reply.ActiveJob = st.ID
		}
		for _, s := range c.engine.Sites() {
			h := &fedpb.SiteHealth{SiteId: s.ID, State: "absent", LastSeenUnixMs: s.LastSeen.UnixMilli()}
			switch {
			case s.Up:
				h.State = "alive"
			case s.Failed:
				h.State = "failed"
			}
			if e, ok := c.ops.lastErr[s.ID]; ok {
				h.LastError = e.at.UTC().Format("2006-01-02T15:04:05Z") + " " + e.msg
			}
			reply.Sites = append(reply.Sites, h)
		}
		cnt := c.engine.Counters()
		for k, v := range map[string]int64{"updates_accepted": cnt.Accepted, "dropouts": cnt.Dropouts, "tasks_sent": cnt.TasksSent,
			"tasks_failed": cnt.TasksFailed, "rounds_committed": cnt.RoundsCommitted, "attempts_failed": cnt.AttemptsFailed,
			"bytes_in": cnt.BytesIn, "bytes_out": cnt.BytesOut} {
			reply.Counters[k] = v
		}
		for reason, n := range cnt.Rejected {
			reply.Counters["rejected_"+strings.ToLower(reason)] = n
		}
		for reason, n := range cnt.DropoutReasons {
			reply.Counters["dropouts_"+strings.ToLower(reason)] = n
		}
		for reason, n := range cnt.CallsRefused {
			reply.Counters["refused_"+strings.ToLower(reason)] = n
		}
	})
	return reply, err
}
