package scenario

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/synthfed/synthfed/coordinator"
)

// agent crashes or restarts a site's agent.
func (r *Runner) agent(d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	i, err := r.index(site)
	if err != nil {
		return "", err
	}
	if d.Cmd == "crash" {
		_ = r.c.StopAgent(i) // a crashed agent's exit error is expected
		return site + " crashed", nil
	}
	if err := r.c.StartAgent(i); err != nil {
		return "", err
	}
	return site + " restarted", nil
}

// link changes a site's link.
func (r *Runner) link(d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	if _, err := r.index(site); err != nil {
		return "", err
	}
	switch d.Cmd {
	case "partition":
		r.net.Partition(site)
		return site + " partitioned", nil
	case "heal":
		r.net.Heal(site)
		return site + " healed", nil
	case "cut":
		r.net.Partition(site)
		r.net.Heal(site)
		return site + "'s connections cut", nil
	}
	delay, err := d.dur("delay", 0)
	if err != nil {
		return "", err
	}
	var p float64
	if v := d.arg("drop", ""); v != "" {
		if _, err := fmt.Sscanf(v, "%g", &p); err != nil || p < 0 || p > 1 {
			return "", fmt.Errorf("drop=%q: want a probability", v)
		}
	}
	r.net.SetDelay(site, delay)
	r.net.SetDrop(site, p)
	return fmt.Sprintf("%s link: delay %s, drop %g", site, delay, p), nil
}

// fault sets a site's training slowness or poisons one of its rounds.
func (r *Runner) fault(d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	if _, err := r.index(site); err != nil {
		return "", err
	}
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if d.Cmd == "slow" {
		delay, err := d.dur("delay", 0)
		if err != nil {
			return "", err
		}
		r.rec.slow[site] = delay
		return fmt.Sprintf("%s trains %s slower", site, delay), nil
	}
	round, err := d.int("round", 0)
	if err != nil || round < 1 {
		return "", fmt.Errorf("poison needs round=R >= 1")
	}
	kind := d.arg("kind", PoisonNaN)
	if kind != PoisonNaN && kind != PoisonHuge {
		return "", fmt.Errorf("kind=%q: want nan or huge", kind)
	}
	if r.rec.poison[site] == nil {
		r.rec.poison[site] = map[int]string{}
	}
	r.rec.poison[site][round] = kind
	return fmt.Sprintf("%s will send a %s update in round %d", site, kind, round), nil
}

// revoke revokes a site's certificate at the coordinator.
func (r *Runner) revoke(d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	k := r.c.Kits()
	if k == nil {
		return "", fmt.Errorf("revoke needs start ... tls")
	}
	if err := k.Revoke(site); err != nil {
		return "", err
	}
	return site + "'s certificate revoked", nil
}

func (r *Runner) advance(d *Directive) (string, error) {
	if len(d.Pos) != 1 {
		return "", fmt.Errorf("advance needs a duration")
	}
	dd := Directive{Args: map[string]string{"d": d.Pos[0]}}
	x, err := dd.dur("d", 0)
	if err != nil {
		return "", err
	}
	r.clk.Advance(x)
	return "", nil
}

// data prints what a site's loader refused.
func (r *Runner) data(d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	i, err := r.index(site)
	if err != nil || r.sites == nil {
		return "", fmt.Errorf("data needs model=classifier sites: %v", err)
	}
	s := r.sites[i]
	lines := []string{fmt.Sprintf("%s: %d train images loaded, %d refused", site, s.Train.Len(), s.Rejected())}
	for _, p := range s.Report.Problems() {
		rel, err := filepath.Rel(filepath.Dir(s.Dir), p.Detail)
		if err != nil {
			rel = p.Detail
		}
		lines = append(lines, fmt.Sprintf("  %s: %s", p.Kind, filepath.ToSlash(rel)))
	}
	sort.Strings(lines[1:])
	return strings.Join(lines, "\n"), nil
}

// auditEvents are the events audit prints by default: those a fault
// leaves (joins and commits are many and timing-dependent).
var auditEvents = map[string]bool{coordinator.EventRejected: true, coordinator.EventDropout: true,
	coordinator.EventAbsent: true, coordinator.EventAttempt: true, coordinator.EventJobEnd: true}

// audit prints the job's audit log, one line per distinct (round, event,
// site, reason) with its count, sorted; except=R1,R2 leaves out the events
// with those reasons (for ones whose occurrence depends on timing).
func (r *Runner) audit(d *Directive) (string, error) {
	co := r.c.Coordinator()
	if co == nil {
		return "", fmt.Errorf("coordinator is down")
	}
	log, err := co.AuditLog()
	if err != nil {
		return "", err
	}
	want := d.arg("event", "")
	except := map[string]bool{}
	for _, r := range strings.Split(d.arg("except", ""), ",") {
		if r != "" {
			except[r] = true
		}
	}
	type key struct {
		round               int
		event, site, reason string
	}
	counts := map[key]int{}
	for _, e := range log {
		if (want == "" && !auditEvents[e.Event]) || (want != "" && e.Event != want) || (e.Job != "" && e.Job != jobID) || except[e.Reason] {
			continue
		}
		counts[key{e.Round, e.Event, e.Site, e.Reason}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.round != b.round {
			return a.round < b.round
		}
		return a.event+a.site+a.reason < b.event+b.site+b.reason
	})
	var lines []string
	for _, k := range keys {
		l := fmt.Sprintf("round %d %s", k.round, k.event)
		if k.site != "" {
			l += " " + k.site
		}
		if k.reason != "" {
			l += " (" + k.reason + ")"
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return "no such events", nil
	}
	return strings.Join(lines, "\n"), nil
}

// serial matches the certificate serial in refusals (random per run).
var serial = regexp.MustCompile(` \(serial [0-9a-f]+\)`)

// tls prints the distinct reasons the coordinator refused handshakes.
func (r *Runner) tls() (string, error) {
	k := r.c.Kits()
	if k == nil {
		return "", fmt.Errorf("tls needs start ... tls")
	}
	seen := map[string]bool{}
	for _, e := range k.Rejected() {
		seen[serial.ReplaceAllString(e, "")] = true
	}
	if len(seen) == 0 {
		return "no handshake refused", nil
	}
	lines := []string{"handshakes refused:"}
	for _, e := range sortedKeys(seen) {
		lines = append(lines, "  "+e)
	}
	return strings.Join(lines, "\n"), nil
}

// metric prints a site's metric key as it reported it in each committed
// round (the agent prefixes training metrics with "train_").
func (r *Runner) metric(d *Directive) (string, error) {
	site, err := d.site()
	if err != nil {
		return "", err
	}
	key := d.arg("key", "")
	rs, err := r.rounds()
	if err != nil {
		return "", err
	}
	var lines []string
	for _, rec := range rs {
		if v, ok := rec.Summary.SiteMetrics[site][key]; ok {
			lines = append(lines, fmt.Sprintf("round %d %s %s = %g", rec.Summary.Round, site, key, v))
		}
	}
	if len(lines) == 0 {
		return fmt.Sprintf("%s reported no %s", site, key), nil
	}
	return strings.Join(lines, "\n"), nil
}
