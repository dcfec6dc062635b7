package coordinator

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

// membership is the coordinator's memberlist node. Agents join it; when a
// node is declared dead (or leaves), onLeave is called with its name, the
// site ID.
type membership struct {
	list *memberlist.Memberlist
}

// memberlistConfig builds a memberlist config from g for node name.
func memberlistConfig(g GossipConfig, name string, log *slog.Logger) (*memberlist.Config, error) {
	host, port, err := net.SplitHostPort(g.Bind)
	if err != nil {
		return nil, fmt.Errorf("gossip bind %q: %w", g.Bind, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("gossip bind port %q: %w", port, err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = name
	mc.BindAddr, mc.BindPort = host, p
	mc.AdvertisePort = p
	if g.Advertise != "" {
		ah, ap, _ := net.SplitHostPort(g.Advertise)
		mc.AdvertiseAddr = ah
		mc.AdvertisePort, _ = strconv.Atoi(ap)
	}
	mc.ProbeInterval, mc.ProbeTimeout, mc.GossipInterval = g.ProbeInterval.D(), g.ProbeTimeout.D(), g.GossipInterval.D()
	mc.SuspicionMult = g.SuspicionMult
	// With a handful of nodes there are too few confirmations to shorten a
	// suspicion, so cap it at the minimum: SuspicionMult probe intervals.
	mc.SuspicionMaxTimeoutMult = 1
	// A restarted site comes back with the same name on a new port: let it
	// take over its dead entry instead of conflicting with it.
	mc.DeadNodeReclaimTime = 2 * g.ProbeInterval.D()
	mc.PushPullInterval = 10 * g.ProbeInterval.D()
	mc.TCPTimeout = max(g.ProbeInterval.D(), time.Second)
	mc.LogOutput = slogWriter{log: log}
	if len(g.Keys) > 0 {
		kr, err := memberlist.NewKeyring(g.Keys[1:], g.Keys[0])
		if err != nil {
			return nil, fmt.Errorf("gossip keys: %w", err)
		}
		mc.Keyring = kr
	}
	if g.Admit != nil {
		mc.Alive = admitAlive{admit: g.Admit, self: name}
	}
	return mc, nil
}

// admitAlive filters node announcements through GossipConfig.Admit.
type admitAlive struct {
	admit func(name, addr string) error
	self  string
}

// NotifyAlive refuses a node Admit does not accept (this node passes).
func (a admitAlive) NotifyAlive(n *memberlist.Node) error {
	if n.Name == a.self {
		return nil
	}
	return a.admit(n.Name, n.Address())
}

func startMembership(g GossipConfig, name string, log *slog.Logger, onLeave func(name string)) (*membership, error) {
	mc, err := memberlistConfig(g, name, log)
	if err != nil {
		return nil, err
	}
	mc.Events = &leaveEvents{onLeave: onLeave, self: name}
	list, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip on %s: %w", g.Bind, err)
	}
	log.Info("gossip started", "addr", list.LocalNode().Address(), "detection_bound", g.DetectionBound())
	return &membership{list: list}, nil
}

// Addr returns the node's advertised host:port.
func (m *membership) Addr() string { return m.list.LocalNode().Address() }

// Leave announces departure and shuts the node down.
func (m *membership) Leave(timeout time.Duration) {
	_ = m.list.Leave(timeout)
	_ = m.list.Shutdown()
}

type leaveEvents struct {
	onLeave func(string)
	self    string
}

func (e *leaveEvents) NotifyJoin(*memberlist.Node)   {}
func (e *leaveEvents) NotifyUpdate(*memberlist.Node) {}
func (e *leaveEvents) NotifyLeave(n *memberlist.Node) {
	if n.Name != e.self {
		go e.onLeave(n.Name) // never block memberlist's goroutines
	}
}

// slogWriter routes memberlist's log lines to slog at debug level (warnings
// and errors at warn).
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	lvl := slog.LevelDebug
	if strings.Contains(line, "[ERR]") || strings.Contains(line, "[WARN]") {
		lvl = slog.LevelWarn
	}
	w.log.Log(context.Background(), lvl, line, "component", "memberlist")
	return len(p), nil
}
