package secaggtest

import (
	"fmt"
	"slices"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
)

// runner holds one round's parties.
type runner struct {
	r       *Round
	srv     *secagg.Server
	clients map[string]*secagg.Client
	out     *Outcome
}

// Run plays one round to its end and returns the outcome.
func Run(r Round) (*Outcome, error) {
	run := &runner{r: &r, clients: map[string]*secagg.Client{},
		out: &Outcome{SiteErrs: map[string]error{}}}
	var err error
	run.srv, err = secagg.NewServer(secagg.ServerConfig{Context: r.Context, VerifyIdentity: r.Verify, Workers: r.Workers})
	if err != nil {
		return nil, err
	}
	for _, s := range r.Sites {
		c, err := secagg.NewClient(secagg.ClientConfig{Context: r.Context, Self: s.ID, Identity: s.Key,
			VerifyIdentity: r.Verify, Rand: r.Rand, Workers: r.Workers})
		if err != nil {
			return nil, err
		}
		run.clients[s.ID] = c
	}
	run.play()
	return run.out, nil
}

// alive reports whether site still sends its message of phase ph.
func (run *runner) alive(site string, ph secagg.Phase) bool {
	d, ok := run.r.DropBefore[site]
	return !ok || ph < d
}

// play drives the phases until the aggregator finishes or fails.
func (run *runner) play() {
	var maxSite, maxCPU time.Duration
	for _, id := range run.r.Context.Roster {
		if !run.alive(id, secagg.PhaseAdvertise) {
			continue
		}
		sw := startWatch()
		m, err := run.clients[id].Advertise()
		if err == nil && !run.r.InputLate {
			_, err = run.clients[id].SetInput(run.r.Inputs[id])
		}
		var b []byte
		if err == nil {
			b = run.encode(id, m)
		}
		d, c := sw.elapsed()
		run.siteTime(d, c, &maxSite, &maxCPU)
		if err != nil {
			run.out.SiteErrs[id] = err
			continue
		}
		run.deliver(id, b)
	}
	run.out.Timing.SiteMax += maxSite
	run.out.Timing.SiteMaxCPU += maxCPU
	for run.srv.Phase() < secagg.PhaseDone {
		sw := startWatch()
		box, err := run.srv.Advance()
		run.aggTime(sw)
		if err != nil {
			run.out.Err = err
			return
		}
		run.broadcast(box)
	}
	res, err := run.srv.Result()
	run.out.Result, run.out.Err = res, err
}

// encode applies the tamper hook and encodes a site's message.
func (run *runner) encode(site string, m secagg.Message) []byte {
	if run.r.Tamper != nil {
		m = run.r.Tamper(site, m)
	}
	b, _ := m.MarshalBinary()
	return b
}

// deliver records a site's encoded message and hands it to the aggregator,
// which decodes it.
func (run *runner) deliver(site string, b []byte) {
	run.out.Timing.Bytes += int64(len(b))
	if run.r.Record != nil {
		run.r.Record(ToAggregator, site, b)
	}
	sw := startWatch()
	dm, err := secagg.Decode(b)
	if err == nil {
		err = run.srv.Handle(site, dm)
	}
	run.aggTime(sw)
	if err != nil {
		run.out.SiteErrs[site] = err
	}
}

// replyPhase is the phase of the message a site sends in answer to an
// aggregator message.
var replyPhase = map[secagg.MessageType]secagg.Phase{
	secagg.TypeAdvertiseSet:       secagg.PhaseShareKeys,
	secagg.TypeShareKeysRelay:     secagg.PhaseMaskedInput,
	secagg.TypeConsistencyRequest: secagg.PhaseConsistency,
	secagg.TypeUnmaskRequest:      secagg.PhaseUnmask,
}

// broadcast encodes each recipient's message (aggregator time), lets the
// site decode and answer it (site time) and delivers the answer.
func (run *runner) broadcast(box secagg.Outbox) {
	ids := make([]string, 0, len(box))
	for id := range box {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var maxSite, maxCPU time.Duration
	encoded := map[secagg.Message][]byte{}
	for _, id := range ids {
		m := box[id]
		if !run.alive(id, replyPhase[m.Type()]) {
			continue
		}
		sw := startWatch()
		b, ok := encoded[m]
		if !ok { // a message shared by recipients is encoded once
			b, _ = m.MarshalBinary()
			encoded[m] = b
		}
		run.aggTime(sw)
		run.out.Timing.Bytes += int64(len(b))
		if run.r.Record != nil {
			run.r.Record(FromAggregator, id, b)
		}
		sw = startWatch()
		reply, err := run.siteStep(id, b)
		d, c := sw.elapsed()
		run.siteTime(d, c, &maxSite, &maxCPU)
		if err != nil {
			run.out.SiteErrs[id] = err
			continue
		}
		if reply != nil {
			run.deliver(id, reply)
		}
	}
	run.out.Timing.SiteMax += maxSite
	run.out.Timing.SiteMaxCPU += maxCPU
}

// siteTime adds one site step's wall and CPU time to the totals and to the
// phase maxima.
func (run *runner) siteTime(wall, cpu time.Duration, maxWall, maxCPU *time.Duration) {
	run.out.Timing.Site += wall
	run.out.Timing.SiteCPU += cpu
	*maxWall = max(*maxWall, wall)
	*maxCPU = max(*maxCPU, cpu)
}

// aggTime adds the aggregator's time since sw started.
func (run *runner) aggTime(sw stopwatch) {
	d, c := sw.elapsed()
	run.out.Timing.Aggregator += d
	run.out.Timing.AggregatorCPU += c
}

// siteStep lets a site decode and handle one message (giving its input
// late if so configured) and encode its answer.
func (run *runner) siteStep(id string, b []byte) ([]byte, error) {
	c := run.clients[id]
	m, err := secagg.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decoding %d bytes: %w", len(b), err)
	}
	reply, err := c.Handle(m)
	if err == nil && reply == nil && run.r.InputLate && m.Type() == secagg.TypeShareKeysRelay {
		var mi *secagg.MaskedInput
		if mi, err = c.SetInput(run.r.Inputs[id]); mi != nil {
			reply = mi
		}
	}
	var out []byte
	if err == nil && reply != nil {
		out = run.encode(id, reply)
	}
	return out, err
}
