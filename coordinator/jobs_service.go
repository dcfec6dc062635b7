package coordinator

import (
	"context"
	"fmt"
	"github.com/synthfed/synthfed/coordinator/engine"
	"slices"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// jobsService implements fedpb.JobsServer: job contexts, checkpoints by
// hash and task reports, for joined sites.
type jobsService struct {
	fedpb.UnimplementedJobsServer
	c *Coordinator
}

// sessionSite returns the site of a session, or an error for an unknown one.
func (c *Coordinator) sessionSite(ctx context.Context, id string) (string, error) {
	var site string
	err := c.lookup(ctx, id, func(s *session) { site = s.site })
	return site, err
}

func (s *jobsService) JobContext(ctx context.Context, req *fedpb.JobContextRequest) (*fedpb.JobContextReply, error) {
	if err := protocol.ValidateJobContextRequest(req); err != nil {
		return nil, protocol.ToStatus(err)
	}
	site, err := s.c.sessionSite(ctx, req.GetSessionId())
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	rec, found, err := s.c.store.Job(req.GetJobId())
	if err == nil && !found {
		err = fmt.Errorf("job %q: %w", req.GetJobId(), protocol.ErrNotFound)
	}
	if err == nil && len(rec.Spec.Sites) > 0 && !slices.Contains(rec.Spec.Sites, site) {
		err = fmt.Errorf("site %s does not take part in job %s: %w", site, rec.Spec.ID, protocol.ErrPermission)
	}
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	jc, err := JobContext(rec.Spec)
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	b, err := protocol.EncodeJobContext(jc)
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	return &fedpb.JobContextReply{JobId: rec.Spec.ID, ContextJson: b}, nil
}

func (s *jobsService) DownloadCheckpoint(req *fedpb.CheckpointRequest, stream fedpb.Jobs_DownloadCheckpointServer) error {
	c := s.c
	if err := protocol.ValidateCheckpointRequest(req); err != nil {
		return protocol.ToStatus(err)
	}
	var w model.Weights
	var inMemory bool
	err := c.lookup(stream.Context(), req.GetSessionId(), func(*session) { w, inMemory = c.engine.Model(req.GetHash()) })
	if err != nil {
		return protocol.ToStatus(err)
	}
	if !inMemory {
		if w, err = c.loadModel(req.GetHash()); err != nil {
			return protocol.ToStatus(err)
		}
	}
	chunk := c.cfg.ChunkSize
	if req.GetChunkSize() > 0 {
		chunk = int(req.GetChunkSize())
	}
	var sent int64
	_, err = protocol.SendWeights(w, chunk, func(ch *fedpb.Chunk) error {
		sent += int64(len(ch.GetData()))
		return stream.Send(ch)
	})
	_ = c.do(context.WithoutCancel(stream.Context()), func() { c.step(engine.BytesMoved{Out: sent}) })
	return err
}

func (s *jobsService) ReportTask(ctx context.Context, req *fedpb.TaskReport) (*fedpb.TaskReportReply, error) {
	c := s.c
	if err := protocol.ValidateTaskReport(req); err != nil {
		return nil, protocol.ToStatus(err)
	}
	var repErr error
	err := c.lookup(ctx, req.GetSessionId(), func(ss *session) {
		c.step(engine.BytesMoved{In: int64(len(req.GetResultJson()))})
		repErr = c.step(reportFromWire(ss.site, req))
	})
	if err == nil {
		err = repErr
	}
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	return &fedpb.TaskReportReply{Accepted: true}, nil
}
