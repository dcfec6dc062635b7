package soak

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Profile is one heap profile of the coordinator, taken after a forced
// collection (/debug/pprof/heap?gc=1): compare two of one incarnation with
// `go tool pprof -diff_base A B`.
type Profile struct {
	T           float64 `json:"t"` // seconds since the start
	Incarnation int     `json:"incarnation"`
	Path        string  `json:"path"`
}

// ProfileCount is how many heap profiles a run takes, evenly over its
// duration (the last just before its end).
const ProfileCount = 6

// profile takes the coordinator's heap profiles into Out/profiles.
func (r *runner) profile(ctx context.Context) {
	dir := filepath.Join(r.cfg.Out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for k := 1; k <= ProfileCount; k++ {
		at := r.cfg.Duration * time.Duration(k) / ProfileCount
		if k == ProfileCount {
			at -= min(5*time.Second, r.cfg.Duration/20)
		}
		if r.sleep(ctx, time.Until(r.start.Add(at))) != nil {
			return
		}
		url, inc := r.coord.debugURL()
		if url == "" {
			continue
		}
		t := time.Since(r.start).Seconds()
		path := filepath.Join(dir, fmt.Sprintf("coordinator-heap-%04.0fs-inc%d.pb.gz", t, inc))
		if err := fetch(ctx, client, url+"/debug/pprof/heap?gc=1", path); err != nil {
			r.log.Warn("soak: heap profile", "err", err)
			continue
		}
		r.mu.Lock()
		r.profiles = append(r.profiles, Profile{T: t, Incarnation: inc, Path: path})
		r.mu.Unlock()
	}
}

func fetch(ctx context.Context, client *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 64<<20)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
