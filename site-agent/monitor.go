package siteagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/synthfed/synthfed/internal/config"
)

// HealthService is the service name the agent's gRPC health server reports:
// SERVING while the agent holds a session with the coordinator.
const HealthService = "synthfed.agent.v1.SiteAgent"

// MonitorConfig serves the agent's metrics and health on local ports. Both
// are off by default; the agent needs no inbound connection otherwise.
type MonitorConfig struct {
	// Listen is the HTTP address of /metrics (Prometheus) and /healthz
	// (empty: off), for example "127.0.0.1:9464".
	Listen string `toml:"listen"`
	// HealthListen is the address of the gRPC health service (empty: off).
	HealthListen string `toml:"health_listen"`
}

// Validate reports every problem at once.
func (m MonitorConfig) Validate() error {
	var p config.Problems
	for name, addr := range map[string]string{"monitor.listen": m.Listen, "monitor.health_listen": m.HealthListen} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			p.Addf("%s = %q: %v", name, addr, err)
		}
	}
	return p.Err()
}

// monitor serves the configured metrics and health endpoints.
type monitor struct {
	http   *http.Server
	lis    net.Listener
	grpc   *grpc.Server
	glis   net.Listener
	health *health.Server
}

// startMonitor listens on the configured addresses and serves until stop.
func (a *Agent) startMonitor() (*monitor, error) {
	m := &monitor{health: health.NewServer()}
	m.health.SetServingStatus(HealthService, healthpb.HealthCheckResponse_NOT_SERVING)
	m.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if addr := a.cfg.Monitor.Listen; addr != "" {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("monitor listen %s: %w", addr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			if a.sessionID() == "" {
				http.Error(w, "not joined", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		m.lis, m.http = lis, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := m.http.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Warn("monitor server stopped", "err", err)
			}
		}()
		a.log.Info("serving metrics", "addr", lis.Addr().String())
	}
	if addr := a.cfg.Monitor.HealthListen; addr != "" {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			m.stop()
			return nil, fmt.Errorf("monitor health_listen %s: %w", addr, err)
		}
		m.glis, m.grpc = lis, grpc.NewServer()
		healthpb.RegisterHealthServer(m.grpc, m.health)
		go func() { _ = m.grpc.Serve(lis) }()
	}
	return m, nil
}

// serving sets the health status.
func (m *monitor) serving(up bool) {
	if m == nil {
		return
	}
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if up {
		st = healthpb.HealthCheckResponse_SERVING
	}
	m.health.SetServingStatus(HealthService, st)
	m.health.SetServingStatus("", st)
}

// MetricsAddr returns the address /metrics is served on ("" when off).
func (a *Agent) MetricsAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mon == nil || a.mon.lis == nil {
		return ""
	}
	return a.mon.lis.Addr().String()
}

func (m *monitor) stop() {
	if m == nil {
		return
	}
	m.health.Shutdown()
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = m.http.Shutdown(ctx)
		cancel()
	}
	if m.grpc != nil {
		m.grpc.Stop()
	}
}

// HealthAddr returns the address of the gRPC health service ("" when off).
func (a *Agent) HealthAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mon == nil || a.mon.glis == nil {
		return ""
	}
	return a.mon.glis.Addr().String()
}
