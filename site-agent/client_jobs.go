package siteagent

import (
	"context"
	"fmt"
	"io"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// jobTransport is what the job workflow needs from the connection beside
// transport: job contexts, checkpoints by hash and task reports. The Agent
// implements it.
type jobTransport interface {
	jobContext(ctx context.Context, jobID string) (*protocol.JobContext, error)
	downloadCheckpoint(ctx context.Context, hash string) (model.Weights, error)
	reportTask(ctx context.Context, r *fedpb.TaskReport) error
}

// jobsClient wraps the generated Jobs client.
type jobsClient struct {
	rpc       fedpb.JobsClient
	chunkSize int
}

func (a *Agent) jobContext(ctx context.Context, jobID string) (*protocol.JobContext, error) {
	r, err := a.jobs.rpc.JobContext(ctx, &fedpb.JobContextRequest{SessionId: a.sessionID(), JobId: jobID})
	if err != nil {
		return nil, fmt.Errorf("job context %s: %w", jobID, protocol.FromStatus(err))
	}
	jc, err := protocol.DecodeJobContext(r.GetContextJson())
	if err != nil {
		return nil, err
	}
	if jc.Job != jobID {
		return nil, fmt.Errorf("job context: asked for %s, got %s: %w", jobID, jc.Job, protocol.ErrMalformed)
	}
	return jc, nil
}

// downloadCheckpoint fetches the stored model called hash and checks it.
func (a *Agent) downloadCheckpoint(ctx context.Context, hash string) (model.Weights, error) {
	stream, err := a.jobs.rpc.DownloadCheckpoint(ctx, &fedpb.CheckpointRequest{SessionId: a.sessionID(), Hash: hash, ChunkSize: uint32(a.jobs.chunkSize)})
	if err != nil {
		return model.Weights{}, protocol.FromStatus(err)
	}
	re := protocol.NewReassembler(protocol.DefaultLimits())
	var n int64
	for !re.Done() {
		ch, err := stream.Recv()
		if err == io.EOF {
			return model.Weights{}, fmt.Errorf("checkpoint %.12s: stream ended before trailer: %w", hash, protocol.ErrMalformed)
		}
		if err != nil {
			return model.Weights{}, fmt.Errorf("checkpoint %.12s: %w", hash, protocol.FromStatus(err))
		}
		n += int64(len(ch.GetData()))
		if err := re.Add(ch); err != nil {
			return model.Weights{}, fmt.Errorf("checkpoint %.12s: %w", hash, err)
		}
	}
	a.metrics.addBytes(n, 0)
	if re.Hash() != hash {
		return model.Weights{}, fmt.Errorf("checkpoint: got %.12s, asked for %.12s: %w", re.Hash(), hash, protocol.ErrMalformed)
	}
	return re.Weights()
}

func (a *Agent) reportTask(ctx context.Context, r *fedpb.TaskReport) error {
	r.SessionId = a.sessionID()
	_, err := a.jobs.rpc.ReportTask(ctx, r)
	if err == nil {
		a.metrics.addBytes(0, int64(len(r.GetResultJson())))
	}
	return protocol.FromStatus(err)
}
