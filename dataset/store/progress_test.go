package store

import (
	"strings"
	"testing"
	"time"
)

func TestMeterRateAndETA(t *testing.T) {
	now := time.Unix(0, 0)
	var got []Progress
	m := newMeter(func() time.Time { return now }, 100, func(p Progress) { got = append(got, p) })
	m.begin(20)
	m.update(20, 0, false)
	now = now.Add(100 * time.Millisecond)
	m.update(25, 5, false) // within the interval: not reported
	now = now.Add(1900 * time.Millisecond)
	m.update(60, 40, false)
	now = now.Add(2 * time.Second)
	m.update(100, 80, true)
	if len(got) != 3 {
		t.Fatalf("%d reports, want 3: %+v", len(got), got)
	}
	if got[0].Rate != 0 || got[1].Rate != 20 || got[1].ETA != 2*time.Second || !got[2].Final || got[2].Rate != 20 {
		t.Fatalf("reports %+v", got)
	}
	if s := got[1].String(); !strings.Contains(s, "60/100") || !strings.Contains(s, "20 images/s") || !strings.Contains(s, "ETA 2s") {
		t.Fatalf("line %q", s)
	}
}
