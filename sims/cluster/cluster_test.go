package cluster

import (
	"context"
	"testing"
	"time"
)

func TestRunBufconn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Transport = "bufconn"
	cfg.Job.Rounds = 3
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != "done" || len(res.Rounds) != 4 {
		t.Fatalf("state %s, %d rounds: %+v", res.State, len(res.Rounds), res)
	}
	for _, r := range res.Rounds[1:] {
		if len(r.Accepted) != 3 {
			t.Errorf("round %d accepted %v", r.Round, r.Accepted)
		}
	}
	t.Logf("final %v in %.2fs", res.Final, res.Seconds)
}
