package siteagent

import (
	"context"
	"fmt"
	"io"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// client wraps the generated Federation client: chunked transfers, and
// status errors turned back into protocol sentinels.
type client struct {
	rpc       fedpb.FederationClient
	chunkSize int
}

// join opens a session.
func (c *client) join(ctx context.Context, req *fedpb.JoinRequest) (*fedpb.JoinReply, error) {
	r, err := c.rpc.Join(ctx, req)
	return r, protocol.FromStatus(err)
}

// heartbeat reports the agent's state.
func (c *client) heartbeat(ctx context.Context, req *fedpb.HeartbeatRequest) (*fedpb.HeartbeatReply, error) {
	r, err := c.rpc.Heartbeat(ctx, req)
	return r, protocol.FromStatus(err)
}

// download fetches the global model called hash and checks its hash.
func (c *client) download(ctx context.Context, session, jobID, hash string) (model.Weights, error) {
	stream, err := c.rpc.DownloadModel(ctx, &fedpb.DownloadRequest{SessionId: session, JobId: jobID, ModelHash: hash, ChunkSize: uint32(c.chunkSize)})
	if err != nil {
		return model.Weights{}, protocol.FromStatus(err)
	}
	re := protocol.NewReassembler(protocol.DefaultLimits())
	for !re.Done() {
		ch, err := stream.Recv()
		if err == io.EOF {
			return model.Weights{}, fmt.Errorf("download %.12s: stream ended before trailer: %w", hash, protocol.ErrMalformed)
		}
		if err != nil {
			return model.Weights{}, protocol.FromStatus(err)
		}
		if err := re.Add(ch); err != nil {
			return model.Weights{}, fmt.Errorf("download %.12s: %w", hash, err)
		}
	}
	if re.Hash() != hash {
		return model.Weights{}, fmt.Errorf("download: got model %.12s, asked for %.12s: %w", re.Hash(), hash, protocol.ErrMalformed)
	}
	return re.Weights()
}

// upload sends meta then w in chunks.
func (c *client) upload(ctx context.Context, meta *fedpb.UpdateMeta, w model.Weights) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.UploadUpdate(ctx)
	if err != nil {
		return protocol.FromStatus(err)
	}
	if err := stream.Send(&fedpb.UploadMessage{Body: &fedpb.UploadMessage_Meta{Meta: meta}}); err != nil {
		return c.closeErr(stream, err)
	}
	_, err = protocol.SendWeights(w, c.chunkSize, func(ch *fedpb.Chunk) error {
		return stream.Send(&fedpb.UploadMessage{Body: &fedpb.UploadMessage_Chunk{Chunk: ch}})
	})
	if err != nil {
		return c.closeErr(stream, err)
	}
	_, err = stream.CloseAndRecv()
	return protocol.FromStatus(err)
}

// closeErr returns the server's status when a send failed because the
// server already refused the stream (Send then only says io.EOF).
func (c *client) closeErr(stream fedpb.Federation_UploadUpdateClient, err error) error {
	if err == io.EOF {
		_, rerr := stream.CloseAndRecv()
		if rerr != nil {
			return protocol.FromStatus(rerr)
		}
	}
	return protocol.FromStatus(err)
}

// exchange sends one phase message.
func (c *client) exchange(ctx context.Context, m *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	r, err := c.rpc.Exchange(ctx, m)
	return r, protocol.FromStatus(err)
}
