package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/synthfed/synthfed/internal/httpserve"
)

// servePprof serves the runtime's profiles (net/http/pprof: /debug/pprof/heap,
// ?gc=1 runs a collection first) on addr until ctx ends. It is for
// diagnosis (the soak's heap profiles), off unless asked for: bind it to
// an address only operators reach.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := httpserve.Serve(ctx, lis, mux); err != nil {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("serving pprof", "addr", lis.Addr().String())
	return nil
}
