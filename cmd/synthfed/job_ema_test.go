package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// TestJobStatusShowsEMA checks that job status prints a train job's server
// EMA output (from its last round that has one) and leaves the line out
// for a job without one.
func TestJobStatusShowsEMA(t *testing.T) {
	ema := strings.Repeat("e", 64)
	cases := []struct {
		name   string
		rounds []coordinator.RoundSummary
		want   string
	}{
		{"with EMA", []coordinator.RoundSummary{{Round: 0, GlobalHash: "g0"}, {Round: 1, GlobalHash: "g1", EMAHash: "g1"}, {Round: 2, GlobalHash: "g2", EMAHash: ema}},
			"ema    " + ema + " (server EMA after round 2; job:ddpm#ema)"},
		{"without EMA", []coordinator.RoundSummary{{Round: 0, GlobalHash: "g0"}, {Round: 1, GlobalHash: "g1"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.rounds)
			reply := &fedpb.GetJobReply{Job: &fedpb.JobSummary{JobId: "ddpm", Kind: "train", State: "done", Output: "g"}, RoundsJson: raw}
			var b bytes.Buffer
			if err := writeJobDetail(&b, reply); err != nil {
				t.Fatal(err)
			}
			got := jobDetailJSON(reply)["ema_output"]
			if tc.want == "" {
				if strings.Contains(b.String(), "ema ") || got != nil {
					t.Fatalf("EMA shown for a job without one:\n%s\njson %v", b.String(), got)
				}
				return
			}
			if !strings.Contains(b.String(), tc.want) || got != ema {
				t.Fatalf("status:\n%s\njson ema_output %v; want line %q", b.String(), got, tc.want)
			}
		})
	}
}
