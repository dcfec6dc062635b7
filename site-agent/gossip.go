package siteagent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// gossipNode is the agent's memberlist node, named by the site ID, so that
// the coordinator learns within a bounded time when the site dies.
type gossipNode struct {
	list *memberlist.Memberlist
}

func (a *Agent) ensureGossip() *gossipNode {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.cfg.Gossip.Enabled {
		return nil
	}
	if a.gossip != nil {
		return a.gossip
	}
	g, err := startGossip(a.cfg.Gossip, a.cfg.SiteID, a.log)
	if err != nil {
		a.log.Warn("gossip disabled", "err", err)
		return nil
	}
	a.gossip = g
	return g
}

func (a *Agent) stopGossip() {
	a.mu.Lock()
	g := a.gossip
	a.gossip = nil
	a.mu.Unlock()
	if g != nil {
		_ = g.list.Leave(time.Second)
		_ = g.list.Shutdown()
	}
}

func startGossip(g GossipConfig, name string, log *slog.Logger) (*gossipNode, error) {
	host, port, err := net.SplitHostPort(g.Bind)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("gossip port %q: %w", port, err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = name
	mc.BindAddr, mc.BindPort, mc.AdvertisePort = host, p, p
	if g.Advertise != "" {
		ah, ap, _ := net.SplitHostPort(g.Advertise)
		mc.AdvertiseAddr = ah
		mc.AdvertisePort, _ = strconv.Atoi(ap)
	}
	mc.ProbeInterval, mc.ProbeTimeout, mc.GossipInterval = g.ProbeInterval.D(), g.ProbeTimeout.D(), g.GossipInterval.D()
	mc.SuspicionMult, mc.SuspicionMaxTimeoutMult = g.SuspicionMult, 1
	mc.DeadNodeReclaimTime = 2 * g.ProbeInterval.D()
	mc.PushPullInterval = 10 * g.ProbeInterval.D()
	mc.TCPTimeout = max(g.ProbeInterval.D(), time.Second)
	mc.LogOutput = logWriter{log}
	if len(g.Keys) > 0 {
		kr, err := memberlist.NewKeyring(g.Keys[1:], g.Keys[0])
		if err != nil {
			return nil, fmt.Errorf("gossip keys: %w", err)
		}
		mc.Keyring = kr
	}
	list, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip on %s: %w", g.Bind, err)
	}
	return &gossipNode{list: list}, nil
}

func (g *gossipNode) addr() string { return g.list.LocalNode().Address() }

func (g *gossipNode) join(seeds []string) error {
	_, err := g.list.Join(seeds)
	return err
}

type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	lvl := slog.LevelDebug
	if strings.Contains(line, "[ERR]") {
		lvl = slog.LevelWarn
	}
	w.log.Log(context.Background(), lvl, line, "component", "memberlist")
	return len(p), nil
}
