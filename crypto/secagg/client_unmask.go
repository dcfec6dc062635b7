package secagg

import (
	"crypto/sha256"
	"fmt"
	"slices"
)

// handleConsistency signs the list of sites whose masked input arrived.
func (c *Client) handleConsistency(m *ConsistencyRequest) (Message, error) {
	if f := c.checkSurvivors(m.Survivors, c.u2, "masked-input survivors"); f != nil {
		return nil, c.fail("", f)
	}
	s := &ConsistencySig{Header: c.ctx.header(), From: c.cfg.Self, ListDigest: listDigest(c.hash, m.Survivors)}
	sig, err := sign(c.cfg.Identity, s.signed())
	if err != nil {
		return nil, fmt.Errorf("secagg: signing survivor list: %w", err)
	}
	s.Signature = sig
	c.u3, c.u3Digest, c.consistent = slices.Clone(m.Survivors), s.ListDigest, s
	c.phase = PhaseUnmask
	return s, nil
}

// repeatConsistency answers a repeated ConsistencyRequest: the same list
// gets the same signature; a different list means the aggregator is showing
// different lists, and is refused.
func (c *Client) repeatConsistency(m *ConsistencyRequest) (Message, error) {
	if listDigest(c.hash, m.Survivors) != c.u3Digest {
		return nil, c.fail("", failf(ErrInconsistentView, "a second, different survivor list"))
	}
	return c.consistent, nil
}

// handleUnmask checks the request and returns the shares that remove the
// masks: self-mask shares of survivors, mask-key shares of dropped sites.
// It never reveals both kinds for one peer, in this request or across
// requests.
func (c *Client) handleUnmask(m *UnmaskRequest) (Message, error) {
	if f := c.checkBothShares(m); f != nil {
		return nil, c.fail(f.site, f.fault)
	}
	reqDigest := unmaskDigest(m)
	if c.lastReply != nil {
		if reqDigest == c.lastReq {
			return c.lastReply, nil
		}
		return nil, c.fail("", failf(ErrInconsistentView, "a second, different unmask request"))
	}
	if listDigest(c.hash, m.Survivors) != c.u3Digest {
		return nil, c.fail("", failf(ErrInconsistentView, "survivor list differs from the one this site signed"))
	}
	if f := c.checkDropped(m.Dropped); f != nil {
		return nil, c.fail("", f)
	}
	if err := c.checkSignatures(m.Signatures); err != nil {
		return nil, err
	}
	reply := &UnmaskShares{Header: c.ctx.header(), From: c.cfg.Self}
	for _, id := range m.Dropped {
		if p := c.peers[id]; p != nil && p.maskShare != nil {
			reply.MaskShares = append(reply.MaskShares, RevealedShare{Owner: id, Value: p.maskShare})
		}
	}
	for _, id := range m.Survivors {
		if id == c.cfg.Self {
			reply.SelfShares = append(reply.SelfShares, RevealedShare{Owner: id, Value: c.ownSelf})
		} else if p := c.peers[id]; p != nil && p.selfShare != nil {
			reply.SelfShares = append(reply.SelfShares, RevealedShare{Owner: id, Value: p.selfShare})
		}
	}
	sig, err := sign(c.cfg.Identity, reply.signed())
	if err != nil {
		return nil, fmt.Errorf("secagg: signing unmask shares: %w", err)
	}
	reply.Signature = sig
	for _, s := range reply.MaskShares {
		c.revealed[s.Owner] = kindMask
	}
	for _, s := range reply.SelfShares {
		c.revealed[s.Owner] = kindSelf
	}
	c.lastReq, c.lastReply = reqDigest, reply
	c.phase = PhaseDone
	c.Forget() // the round's secrets are no longer needed; the reply is kept for repeats
	return reply, nil
}

// siteFault is a fault that names a site.
type siteFault struct {
	site  string
	fault *fault
}

// checkBothShares refuses a request that lists a peer both as survivor and
// as dropped, or that asks for the other share of a peer already revealed.
func (c *Client) checkBothShares(m *UnmaskRequest) *siteFault {
	surv := make(map[string]bool, len(m.Survivors))
	for _, id := range m.Survivors {
		surv[id] = true
		if c.revealed[id] == kindMask {
			return &siteFault{id, failf(ErrBothShares, "mask-key share already revealed, now asked for the self-mask share")}
		}
	}
	for _, id := range m.Dropped {
		if surv[id] {
			return &siteFault{id, failf(ErrBothShares, "listed both as survivor and as dropped")}
		}
		if c.revealed[id] == kindSelf {
			return &siteFault{id, failf(ErrBothShares, "self-mask share already revealed, now asked for the mask-key share")}
		}
	}
	return nil
}

// checkDropped requires the dropped list to be exactly U2 minus U3.
func (c *Client) checkDropped(dropped []string) *fault {
	var want []string
	for _, id := range c.u2 {
		if _, ok := slices.BinarySearch(c.u3, id); !ok {
			want = append(want, id)
		}
	}
	if !slices.Equal(want, dropped) {
		return failf(ErrInconsistentView, "dropped list %v, this site expects %v", dropped, want)
	}
	return nil
}

// checkSignatures verifies the survivors' consistency signatures: each from
// a distinct survivor whose key this site knows, on the same list, and
// enough of them to meet the threshold.
func (c *Client) checkSignatures(sigs []*ConsistencySig) error {
	seen := make(map[string]bool, len(sigs))
	for _, s := range sigs {
		if s == nil {
			return c.fail("", failf(ErrMalformed, "nil consistency signature"))
		}
		if f := checkHeader(c.ctx, c.hash, &s.Header); f != nil {
			return c.fail(s.From, f)
		}
		if _, ok := slices.BinarySearch(c.u3, s.From); !ok {
			return c.fail(s.From, failf(ErrUnknownSite, "consistency signature from a non-survivor"))
		}
		if seen[s.From] {
			return c.fail(s.From, failf(ErrReplay, "two consistency signatures"))
		}
		seen[s.From] = true
		if s.ListDigest != c.u3Digest {
			return c.fail(s.From, failf(ErrInconsistentView, "signed a different survivor list"))
		}
		key := c.bundle.IdentityKey
		if s.From != c.cfg.Self {
			p := c.peers[s.From]
			if p == nil {
				return c.fail(s.From, failf(ErrUnknownSite, "consistency signature from a non-neighbour"))
			}
			key = p.keys.IdentityKey
		}
		if !verifySig(key, s.signed(), s.Signature) {
			return c.fail(s.From, failf(ErrBadSignature, "consistency signature"))
		}
	}
	if need := shareThreshold(c.ctx.Params); len(seen) < need {
		return c.fail("", failf(ErrTooFewSurvivors, "%d consistency signatures, need %d", len(seen), need))
	}
	return nil
}

// unmaskDigest identifies an unmask request for idempotent repeats.
func unmaskDigest(m *UnmaskRequest) [32]byte {
	b, _ := m.MarshalBinary()
	return sha256.Sum256(b)
}
