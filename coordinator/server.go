package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// sendTask converts t to its wire form and sends it.
func (c *Coordinator) sendTask(stream fedpb.Federation_TasksServer, t engine.Task) error {
	p, err := taskToWire(t)
	if err != nil {
		c.log.Error("task not sent", "site", t.Site, "task", t.ID, "err", err)
		return nil
	}
	return stream.Send(p)
}

// serviceName is the health-checked service.
const serviceName = "synthfed.fed.v1.Federation"

// Run serves until ctx ends, then stops gracefully within StopGrace: health
// turns NOT_SERVING, in-flight calls may finish, then connections are cut
// and the store is closed. It returns nil after a requested stop.
func (c *Coordinator) Run(ctx context.Context) error {
	defer close(c.stopped)
	defer c.store.Close()
	cred, err := c.opts.Security.ServerOption()
	if err != nil {
		c.lis.Close()
		return err
	}
	srv := grpc.NewServer(append([]grpc.ServerOption{cred}, c.opts.ServerOptions...)...)
	fedpb.RegisterFederationServer(srv, &service{c: c})
	c.registerServices(srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	hs.SetServingStatus(serviceName, healthpb.HealthCheckResponse_SERVING)

	var members *membership
	if c.cfg.Gossip.Enabled {
		// A fresh name per start: a restarted coordinator is a new node.
		var nb [4]byte
		_, _ = rand.Read(nb[:])
		members, err = startMembership(c.cfg.Gossip, "coordinator/"+c.cfg.ID+"/"+hex.EncodeToString(nb[:]), c.log, func(name string) {
			c.siteFailed(ctx, name)
		})
		if err != nil {
			c.lis.Close()
			return err
		}
		c.gossip = members.Addr()
	}
	mlis, err := c.listenMetrics()
	if err != nil {
		c.lis.Close()
		return err
	}
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(loopCtx)
	g.Go(func() error { return c.loop(gctx) })
	if mlis != nil {
		g.Go(func() error { return c.serveMetrics(gctx, mlis) })
	}
	g.Go(func() error {
		if err := srv.Serve(c.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		select {
		case <-ctx.Done():
		case <-gctx.Done():
		}
		hs.Shutdown()
		close(c.draining) // ends the long-lived task streams so that in-flight calls alone hold the stop
		c.stopServer(srv)
		if members != nil {
			members.Leave(c.cfg.StopGrace.D())
		}
		stopLoop()
		return nil
	})
	err = g.Wait()
	c.log.Info("coordinator stopped", "err", err)
	return err
}

// stopServer stops gracefully, cutting connections after StopGrace.
func (c *Coordinator) stopServer(srv *grpc.Server) {
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	t := c.clk.NewTimer(c.cfg.StopGrace.D())
	defer t.Stop()
	select {
	case <-done:
	case <-t.C():
		c.log.Warn("graceful stop deadline passed; closing connections")
		srv.Stop()
		<-done
	}
}

// siteFailed is gossip's report that a node died or left.
func (c *Coordinator) siteFailed(ctx context.Context, site string) {
	_ = c.do(ctx, func() {
		if s, ok := c.bySite[site]; ok {
			c.closeSession(s)
		}
		c.noteSite(site, "gossip: node failed")
		c.step(engine.SiteDown{Site: site, Reason: engine.ReasonGossipFailed, Detail: "memberlist declared the node dead or it left"})
	})
}

func (c *Coordinator) closeSession(s *session) {
	delete(c.sessions, s.id)
	if c.bySite[s.site] == s {
		delete(c.bySite, s.site)
	}
	close(s.closed)
}

// service implements fedpb.FederationServer on top of the Coordinator.
type service struct {
	fedpb.UnimplementedFederationServer
	c *Coordinator
}

func (s *service) Join(ctx context.Context, req *fedpb.JoinRequest) (*fedpb.JoinReply, error) {
	c := s.c
	if err := protocol.CheckVersion(req.GetProtocolVersion()); err != nil {
		return nil, protocol.ToStatus(err)
	}
	if err := protocol.ValidateJoin(req); err != nil {
		return nil, protocol.ToStatus(err)
	}
	site, err := c.opts.Authenticator.Identify(ctx, req.GetSiteId())
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	sess := &session{id: hex.EncodeToString(b[:]), site: site, tasks: make(chan engine.Task, 64), closed: make(chan struct{})}
	err = c.do(ctx, func() {
		if old, ok := c.bySite[site]; ok {
			c.closeSession(old)
		}
		c.sessions[sess.id], c.bySite[site] = sess, sess
		c.step(engine.SiteUp{Site: site})
	})
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	c.log.Info("site joined", "site", site, "agent", req.GetAgentVersion(), "gossip", req.GetGossipAddr())
	reply := &fedpb.JoinReply{ProtocolVersion: protocol.Version, SessionId: sess.id, CoordinatorId: c.cfg.ID,
		HeartbeatIntervalMs: c.cfg.HeartbeatInterval.D().Milliseconds(), ChunkSize: uint32(c.cfg.ChunkSize)}
	if c.gossip != "" {
		reply.GossipSeeds = []string{c.gossip}
	}
	return reply, nil
}

// lookup returns the session called id, on the loop goroutine.
func (c *Coordinator) lookup(ctx context.Context, id string, fn func(*session)) error {
	var found *session
	err := c.do(ctx, func() {
		found = c.sessions[id]
		if found != nil && fn != nil {
			fn(found)
		}
	})
	if err != nil {
		return err
	}
	if found == nil {
		return fmt.Errorf("session %.8s: %w", id, protocol.ErrUnknownSession)
	}
	return nil
}

func (s *service) Tasks(req *fedpb.TasksRequest, stream fedpb.Federation_TasksServer) error {
	c := s.c
	var sess *session
	var pending []engine.Task
	err := c.lookup(stream.Context(), req.GetSessionId(), func(ss *session) {
		sess = ss
		pending = c.engine.PendingTasks(ss.site)
	})
	if err != nil {
		return protocol.ToStatus(err)
	}
	for _, t := range pending {
		if err := c.sendTask(stream, t); err != nil {
			c.streamClosed(stream.Context(), sess, err)
			return err
		}
	}
	for {
		select {
		case t := <-sess.tasks:
			if err := c.sendTask(stream, t); err != nil {
				c.streamClosed(stream.Context(), sess, err)
				return err
			}
		case <-sess.closed:
			return protocol.ToStatus(fmt.Errorf("session replaced or site failed: %w", protocol.ErrUnknownSession))
		case <-stream.Context().Done():
			c.streamClosed(stream.Context(), sess, context.Cause(stream.Context()))
			return nil
		case <-c.draining:
			return protocol.ToStatus(fmt.Errorf("coordinator stopping: %w", protocol.ErrUnavailable))
		}
	}
}

// streamClosed handles the end of a session's task stream from the
// agent's side (it stopped, died or lost its connection): while the
// session is still its site's current one, the session ends and the site
// is marked down at once, so that the round in progress and its phase
// driver stop waiting for it instead of waiting for gossip or the
// heartbeat timeout. A site that rejoined first (a new session) is left
// alone. The agent rejoins by itself when it is alive.
func (c *Coordinator) streamClosed(ctx context.Context, sess *session, cause error) {
	select {
	case <-c.draining:
		return // the coordinator ends the streams itself
	default:
	}
	detail := "the agent's task stream closed"
	if cause != nil {
		detail += ": " + cause.Error()
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.StopGrace.D()+time.Second)
	defer cancel()
	_ = c.do(dctx, func() {
		if c.bySite[sess.site] != sess {
			return
		}
		c.closeSession(sess)
		c.log.Warn("task stream closed; site marked down", "site", sess.site, "cause", cause)
		c.step(engine.SiteDown{Site: sess.site, Reason: engine.ReasonStreamClosed, Detail: detail})
	})
}

func (s *service) Heartbeat(ctx context.Context, req *fedpb.HeartbeatRequest) (*fedpb.HeartbeatReply, error) {
	c := s.c
	if err := protocol.ValidateHeartbeat(req); err != nil {
		return nil, protocol.ToStatus(err)
	}
	reply := &fedpb.HeartbeatReply{ServerUnixMs: c.clk.Now().UnixMilli()}
	err := c.lookup(ctx, req.GetSessionId(), func(ss *session) {
		c.step(engine.SiteSeen{Site: ss.site})
		if j, ok := c.engine.Active(); ok {
			reply.ActiveJob, reply.ActiveRound = j.ID, int64(j.Round)
		}
	})
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	return reply, nil
}

func (s *service) DownloadModel(req *fedpb.DownloadRequest, stream fedpb.Federation_DownloadModelServer) error {
	c := s.c
	if err := protocol.ValidateDownload(req); err != nil {
		return protocol.ToStatus(err)
	}
	var w model.Weights
	var ok bool
	err := c.lookup(stream.Context(), req.GetSessionId(), func(*session) { w, ok = c.engine.Model(req.GetModelHash()) })
	if err != nil {
		return protocol.ToStatus(err)
	}
	if !ok {
		return protocol.ToStatus(fmt.Errorf("model %.12s: %w", req.GetModelHash(), protocol.ErrNotFound))
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

func (s *service) UploadUpdate(stream fedpb.Federation_UploadUpdateServer) error {
	c := s.c
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	meta := first.GetMeta()
	if meta == nil {
		return protocol.ToStatus(fmt.Errorf("upload: first message is not meta: %w", protocol.ErrMalformed))
	}
	if err := protocol.ValidateUpdateMeta(meta); err != nil {
		return protocol.ToStatus(err)
	}
	m := metaFromWire(meta)
	var site string
	var expect []model.TensorSpec
	var checkErr error
	err = c.lookup(ctx, meta.GetSessionId(), func(ss *session) {
		site = ss.site
		if checkErr = c.step(engine.UploadOpened{Site: site, Meta: m}); checkErr == nil {
			expect = c.engine.ExpectedSpecs(m.Job)
		}
	})
	if err == nil {
		err = checkErr
	}
	if err != nil {
		return protocol.ToStatus(err)
	}
	body, hash, n, err := c.receiveBody(ctx, stream, expect)
	if body != nil {
		defer body.close()
	}
	if err != nil {
		_ = c.do(context.WithoutCancel(ctx), func() {
			c.step(engine.BytesMoved{In: n})
			c.step(engine.UploadFailed{Site: site, Meta: m, Err: err})
		})
		return protocol.ToStatus(err)
	}
	var delErr error
	if err := c.do(ctx, func() {
		c.step(engine.BytesMoved{In: n})
		delErr = c.step(engine.UploadReceived{Site: site, Meta: m, Body: body})
	}); err != nil {
		return protocol.ToStatus(err)
	}
	if delErr != nil {
		return protocol.ToStatus(delErr)
	}
	return stream.SendAndClose(&fedpb.UploadReply{Accepted: true, Hash: hash})
}

// receiveBody receives an update's chunks into a spool while holding one
// of the MaxConcurrentUploads slots, which bounds the coordinator's open
// spools (disk, not memory: it holds one chunk per upload). The
// Reassembler checks every chunk against the header (and the expected
// specs) and the content hash at the trailer; the engine checks the values.
// It returns the spool (to close, even with an error) and the verified
// content hash.
func (c *Coordinator) receiveBody(ctx context.Context, stream fedpb.Federation_UploadUpdateServer, expect []model.TensorSpec) (*spool, string, int64, error) {
	select {
	case c.uploads <- struct{}{}:
	case <-ctx.Done():
		return nil, "", 0, ctx.Err()
	}
	defer func() { <-c.uploads }()
	sp, err := newSpool(spoolDir(c.cfg))
	if err != nil {
		return nil, "", 0, err
	}
	re := protocol.NewReassembler(protocol.DefaultLimits())
	if expect != nil {
		re.Expect(expect)
	}
	re.Sink(sp.write)
	var n int64
	for !re.Done() {
		msg, err := stream.Recv()
		if err == io.EOF {
			return sp, "", n, fmt.Errorf("upload: stream ended before trailer: %w", protocol.ErrMalformed)
		}
		if err != nil {
			return sp, "", n, err
		}
		ch := msg.GetChunk()
		if ch == nil {
			return sp, "", n, fmt.Errorf("upload: second meta: %w", protocol.ErrMalformed)
		}
		n += int64(len(ch.GetData()))
		if err := re.Add(ch); err != nil {
			return sp, "", n, err
		}
		if sp.specs == nil {
			sp.specs = re.Specs()
			c.opts.Memory.Model(specBytes(sp.specs))
		}
	}
	return sp, re.Hash(), n, nil
}

func (s *service) Exchange(ctx context.Context, req *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	if err := protocol.ValidatePhase(req); err != nil {
		return nil, protocol.ToStatus(err)
	}
	var herr error
	err := s.c.lookup(ctx, req.GetSessionId(), func(ss *session) { herr = s.c.step(phaseFromWire(ss.site, req)) })
	if err == nil {
		err = herr
	}
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	return &fedpb.PhaseMessage{JobId: req.GetJobId(), Round: req.GetRound(), Attempt: req.GetAttempt(), Phase: req.GetPhase()}, nil
}

func (s *service) Status(ctx context.Context, _ *fedpb.StatusRequest) (*fedpb.StatusReply, error) {
	c := s.c
	reply := &fedpb.StatusReply{CoordinatorId: c.cfg.ID}
	err := c.do(ctx, func() {
		for _, j := range c.engine.Jobs() {
			reply.Jobs = append(reply.Jobs, &fedpb.JobStatus{JobId: j.ID, State: string(j.State), Round: int64(j.Round), Rounds: int64(j.Rounds), GlobalHash: j.GlobalHash})
		}
		for _, st := range c.engine.Sites() {
			state := "down"
			if st.Up {
				state = "up"
			}
			reply.Sites = append(reply.Sites, &fedpb.SiteStatus{SiteId: st.ID, State: state, LastSeenUnixMs: st.LastSeen.UnixMilli()})
		}
	})
	if err != nil {
		return nil, protocol.ToStatus(err)
	}
	return reply, nil
}
