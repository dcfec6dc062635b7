package soak

import (
	"math"
	"testing"
	"time"
)

// TestTrendGrowth: the second half's last quarter against its first, over
// warm processes; readings that failed (0) are skipped, not counted as a
// drop.
func TestTrendGrowth(t *testing.T) {
	var ss []Sample
	for i := 0; i <= 100; i++ {
		s := Sample{T: float64(i), Role: "coordinator", RSSKB: 1000 + int64(i)*2, LiveKB: 500, FileKB: 100}
		if i%10 == 0 {
			s.LiveKB = 0 // a scrape that failed
		}
		ss = append(ss, s, Sample{T: float64(i), Role: "agent", RSSKB: 50, Started: float64(i)}) // never warm
	}
	tf := Trend(ss, "coordinator", 100*time.Second)
	// Second half: t = 50..100 (51 points), quarter = 12: means 1000+2*55.5 and 1000+2*94.5.
	want := (2*94.5 - 2*55.5) / (1000 + 2*55.5)
	if math.Abs(tf.RSSGrowth-want) > 1e-9 || tf.LiveGrowth != 0 || tf.FileGrowth != 0 {
		t.Fatalf("growth RSS %v (want %v), live %v, file %v", tf.RSSGrowth, want, tf.LiveGrowth, tf.FileGrowth)
	}
	if tf.PeakRSSKB != 1200 || tf.LastLiveKB != 0 || tf.PeakLiveKB != 500 {
		t.Fatalf("peak RSS %d, last live %d, peak live %d", tf.PeakRSSKB, tf.LastLiveKB, tf.PeakLiveKB)
	}
	if a := Trend(ss, "agent", 100*time.Second); a.RSSGrowth != 0 || a.Samples != 101 {
		t.Fatalf("agents were never warm: %+v", a)
	}
}
