package secagg

// A site's whole mask (its self mask plus its pair masks) does not depend on
// its input: it is fixed once the share-keys relay has been handled. A site
// therefore expands it while it trains (MaskExpander on another goroutine,
// then SetMask), and masking the update afterwards is one addition instead
// of one AES-CTR expansion per neighbour on the round's critical path.

// MaskExpander returns a function that expands this site's whole mask,
// Length+1 ring elements, as maskedInput would add them. The function
// touches no Client state, so the caller may run it on another goroutine
// while it trains and then hand the result to SetMask. The relay must have
// been handled and the input not yet given.
func (c *Client) MaskExpander() (func() []uint32, error) {
	if c.phase != PhaseMaskedInput || c.u2 == nil || c.haveInput {
		return nil, c.fail(c.cfg.Self, failf(ErrPhase, "the mask is expanded after the share-keys relay and before the input"))
	}
	terms, n, workers := c.maskTerms(), c.ctx.Params.Length+1, c.cfg.Workers
	return func() []uint32 {
		m := make([]uint32, n)
		applyTerms(m, terms, workers)
		return m
	}, nil
}

// SetMask gives the site its whole mask, expanded by MaskExpander's
// function, before its input: SetInput then adds the encoded input to it.
// The Client owns mask from here on and clears it once used or forgotten.
func (c *Client) SetMask(mask []uint32) error {
	if c.phase != PhaseMaskedInput || c.u2 == nil || c.haveInput || c.mask != nil {
		return c.fail(c.cfg.Self, failf(ErrPhase, "a precomputed mask is set once, after the relay and before the input"))
	}
	if len(mask) != c.ctx.Params.Length+1 {
		return c.fail(c.cfg.Self, failf(ErrMalformed, "precomputed mask of %d elements, want %d", len(mask), c.ctx.Params.Length+1))
	}
	c.mask = mask
	return nil
}

// maskTerms lists the masks this site adds to its input: its self mask and,
// for each surviving neighbour it agreed a pair key with, that pair's mask
// (added when this site has the lower roster index, subtracted otherwise).
func (c *Client) maskTerms() []maskTerm {
	terms := []maskTerm{{key: selfMaskKey(scalarBytes(c.selfSecret), c.hash)}}
	for _, id := range c.u2 {
		p := c.peers[id]
		if p == nil || p.maskShare == nil {
			continue
		}
		terms = append(terms, maskTerm{key: p.pair, sub: p.idx < c.self})
	}
	return terms
}
