package study

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// Progress shows how a run advances: the phase, its completed units out of
// the total, and the latest figures (round, loss, images per second). On a
// terminal it redraws one status line with a progress bar; otherwise it
// writes a log line per update, at most one per Every for the same phase
// (phase starts and ends always print). It is safe for concurrent use; a
// nil *Progress discards everything.
type Progress struct {
	w        io.Writer
	terminal bool
	clk      clock.Clock
	// Every throttles log lines within a phase (0: every update).
	Every time.Duration

	mu     sync.Mutex
	phase  string
	total  int
	unit   string
	done   int
	fields string
	start  time.Time
	last   time.Time
	drawn  bool
}

// NewProgress writes to w, drawing a bar when terminal is true.
func NewProgress(w io.Writer, terminal bool, clk clock.Clock) *Progress {
	if clk == nil {
		clk = clock.New()
	}
	return &Progress{w: w, terminal: terminal, clk: clk, Every: 5 * time.Second}
}

// Start begins phase with total units called unit (total 0: unknown).
func (p *Progress) Start(phase string, total int, unit string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
	p.phase, p.total, p.unit, p.done, p.fields = phase, total, unit, 0, ""
	p.start = p.clk.Now()
	p.last = time.Time{}
	if !p.terminal {
		fmt.Fprintf(p.w, "phase %s: started (%d %s)\n", phase, total, unit)
		return
	}
	p.draw()
}

// Update records done units and the latest figures, as alternating names
// and values ("loss", 0.12, "images/s", 31.5).
func (p *Progress) Update(done int, kv ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	p.fields = formatFields(kv)
	now := p.clk.Now()
	if p.terminal {
		p.draw()
		return
	}
	if p.Every > 0 && !p.last.IsZero() && now.Sub(p.last) < p.Every && done < p.total {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "phase %s: %d/%d %s %s\n", p.phase, done, p.total, p.unit, p.fields)
}

// Note prints a line that stays (above the bar on a terminal).
func (p *Progress) Note(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
	fmt.Fprintf(p.w, format+"\n", args...)
	if p.terminal && p.phase != "" {
		p.draw()
	}
}

// End finishes phase, printing its wall time.
func (p *Progress) End(phase string, d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
	fmt.Fprintf(p.w, "phase %s: done in %s %s\n", phase, d.Round(100*time.Millisecond), p.fields)
	p.phase = ""
}

// draw redraws the status line.
func (p *Progress) draw() {
	const width = 24
	frac := 0.0
	if p.total > 0 {
		frac = min(1, float64(p.done)/float64(p.total))
	}
	fill := int(frac * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	el := p.clk.Since(p.start).Round(time.Second)
	fmt.Fprintf(p.w, "\r\x1b[2K%-14s %s %3.0f%% %d/%d %s %s %s", p.phase, bar, 100*frac, p.done, p.total, p.unit, el, p.fields)
	p.drawn = true
}

func (p *Progress) clearLine() {
	if p.terminal && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[2K")
		p.drawn = false
	}
}

// formatFields renders alternating names and values.
func formatFields(kv []any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch v := kv[i+1].(type) {
		case float64:
			fmt.Fprintf(&b, "%v %.4g", kv[i], v)
		default:
			fmt.Fprintf(&b, "%v %v", kv[i], v)
		}
	}
	return b.String()
}
