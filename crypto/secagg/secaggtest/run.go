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
	var maxSite time.Duration
	for _, id := range run.r.Context.Roster {
		if !run.alive(id, secagg.PhaseAdvertise) {
			continue
		}
		t0 := time.Now()
		m, err := run.clients[id].Advertise()
		if err == nil && !run.r.InputLate {
			_, err = run.clients[id].SetInput(run.r.Inputs[id])
		}
		d := time.Since(t0)
		run.out.Timing.Site += d
		maxSite = max(maxSite, d)
		if err != nil {
			run.out.SiteErrs[id] = err
			continue
		}
		run.deliver(id, m)
	}
	run.out.Timing.SiteMax += maxSite
	for run.srv.Phase() < secagg.PhaseDone {
		t0 := time.Now()
		box, err := run.srv.Advance()
		run.out.Timing.Aggregator += time.Since(t0)
		if err != nil {
			run.out.Err = err
			return
		}
		run.broadcast(box)
	}
	res, err := run.srv.Result()
	run.out.Result, run.out.Err = res, err
}

// deliver encodes a site's message, records it and hands it to the
// aggregator.
func (run *runner) deliver(site string, m secagg.Message) {
	if run.r.Tamper != nil {
		m = run.r.Tamper(site, m)
	}
	t0 := time.Now()
	b, _ := m.MarshalBinary()
	dm, err := secagg.Decode(b)
	run.out.Timing.Codec += time.Since(t0)
	run.out.Timing.Bytes += int64(len(b))
	if run.r.Record != nil {
		run.r.Record(ToAggregator, site, b)
	}
	if err != nil {
		run.out.SiteErrs[site] = fmt.Errorf("decoding own message: %w", err)
		return
	}
	t0 = time.Now()
	err = run.srv.Handle(site, dm)
	run.out.Timing.Aggregator += time.Since(t0)
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

// broadcast hands each recipient its message and delivers the replies.
func (run *runner) broadcast(box secagg.Outbox) {
	ids := make([]string, 0, len(box))
	for id := range box {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var maxSite time.Duration
	for _, id := range ids {
		m := box[id]
		ph := replyPhase[m.Type()]
		if !run.alive(id, ph) {
			continue
		}
		t0 := time.Now()
		b, _ := m.MarshalBinary()
		dm, err := secagg.Decode(b)
		run.out.Timing.Codec += time.Since(t0)
		run.out.Timing.Bytes += int64(len(b))
		if run.r.Record != nil {
			run.r.Record(FromAggregator, id, b)
		}
		if err != nil {
			run.out.SiteErrs[id] = err
			continue
		}
		reply, d, err := run.siteStep(id, dm)
		run.out.Timing.Site += d
		maxSite = max(maxSite, d)
		if err != nil {
			run.out.SiteErrs[id] = err
			continue
		}
		if reply != nil {
			run.deliver(id, reply)
		}
	}
	run.out.Timing.SiteMax += maxSite
}

// siteStep lets a site handle one message (and give its input late).
func (run *runner) siteStep(id string, m secagg.Message) (secagg.Message, time.Duration, error) {
	c := run.clients[id]
	t0 := time.Now()
	reply, err := c.Handle(m)
	if err == nil && reply == nil && run.r.InputLate && m.Type() == secagg.TypeShareKeysRelay {
		var mi *secagg.MaskedInput
		mi, err = c.SetInput(run.r.Inputs[id])
		if mi != nil {
			reply = mi
		}
	}
	return reply, time.Since(t0), err
}
