package secagg

import (
	"bytes"
	"crypto/subtle"
	"slices"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// handleShareKeys checks a site's share distribution: signed by the site,
// exactly one entry for each neighbour that advertised keys, each entry
// from the sender and carrying an ML-KEM ciphertext exactly when the sender
// has the lower roster index.
func (s *Server) handleShareKeys(from string, m *ShareKeys) *fault {
	if f := senderOK(from, m.From, s.u1, s.shareKeys[from] != nil); f != nil {
		return f
	}
	if !verifySig(s.bundles[from].IdentityKey, m.signed(), m.Signature) {
		return failf(ErrBadSignature, "share keys")
	}
	fi := s.ctx.index(from)
	got := make(map[string]*ShareEntry, len(m.Entries))
	for _, e := range m.Entries {
		if e == nil {
			return failf(ErrMalformed, "nil entry")
		}
		if e.From != from {
			return failf(ErrIDMismatch, "entry claims to be from %q", e.From)
		}
		ti := s.ctx.index(e.To)
		if ti < 0 || s.bundles[e.To] == nil || !s.g.adjacent(fi, ti) {
			return failf(ErrUnknownSite, "entry for %q, which is not an advertised neighbour", e.To)
		}
		if got[e.To] != nil {
			return failf(ErrDuplicateShare, "two entries for %q", e.To)
		}
		if want := kemCTSize * b2i(fi < ti); len(e.KEMCiphertext) != want {
			return failf(ErrMalformed, "entry for %q has an ML-KEM ciphertext of %d bytes, want %d", e.To, len(e.KEMCiphertext), want)
		}
		got[e.To] = e
	}
	for _, v := range s.u1 {
		if v != from && s.g.adjacent(fi, s.ctx.index(v)) && got[v] == nil {
			return failf(ErrMalformed, "no entry for neighbour %q", v)
		}
	}
	for to, e := range got {
		s.entries[[2]string{from, to}] = e
	}
	s.shareKeys[from] = m
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// handleUnmask checks a site's revealed shares against the commitments
// their owners signed, and stores them.
func (s *Server) handleUnmask(from string, m *UnmaskShares) *fault {
	if f := senderOK(from, m.From, s.u4, s.unmasked[from]); f != nil {
		return f
	}
	if !verifySig(s.bundles[from].IdentityKey, m.signed(), m.Signature) {
		return failf(ErrBadSignature, "unmask shares")
	}
	hi := s.ctx.index(from)
	mask, f := s.checkRevealed(from, m.MaskShares, kindMask, s.dropped)
	if f != nil {
		return f
	}
	self, f := s.checkRevealed(from, m.SelfShares, kindSelf, s.u3)
	if f != nil {
		return f
	}
	for owner := range mask {
		if _, ok := self[owner]; ok {
			return failf(ErrBothShares, "revealed both shares of %q", owner)
		}
	}
	store := func(dst map[string]map[int][]byte, src map[string][]byte) {
		for owner, v := range src {
			if dst[owner] == nil {
				dst[owner] = map[int][]byte{}
			}
			dst[owner][hi] = v
		}
	}
	store(s.maskSh, mask)
	store(s.selfSh, self)
	s.unmasked[from] = true
	return nil
}

// checkRevealed checks one list of revealed shares: owners in the allowed
// set, each once, held by the sender, matching the signed commitment.
func (s *Server) checkRevealed(holder string, list []RevealedShare, kind byte, allowed []string) (map[string][]byte, *fault) {
	out := make(map[string][]byte, len(list))
	for _, r := range list {
		if _, ok := slices.BinarySearch(allowed, r.Owner); !ok {
			return nil, failf(ErrUnknownSite, "share of %q, which is not expected", r.Owner)
		}
		if _, ok := out[r.Owner]; ok {
			return nil, failf(ErrDuplicateShare, "two shares of %q", r.Owner)
		}
		var commit [32]byte
		if r.Owner == holder {
			if kind == kindMask {
				return nil, failf(ErrBothShares, "revealed its own mask-key share")
			}
			commit = s.shareKeys[holder].OwnShareCommit
		} else {
			e := s.entries[[2]string{r.Owner, holder}]
			if e == nil {
				return nil, failf(ErrUnknownSite, "holds no share of %q", r.Owner)
			}
			commit = e.SelfShareCommit
			if kind == kindMask {
				commit = e.MaskShareCommit
			}
		}
		got := shareCommit(s.hash, kind, r.Owner, holder, r.Value)
		if commit == ([32]byte{}) || subtle.ConstantTimeCompare(got[:], commit[:]) != 1 {
			return nil, failf(ErrBadShare, "share of %q", r.Owner)
		}
		out[r.Owner] = r.Value
	}
	return out, nil
}

// closeUnmask reconstructs the self-mask secrets of the survivors and the
// mask-key secrets of the dropped sites, removes every mask from the running
// sum and decodes it.
func (s *Server) closeUnmask() error {
	u, err := s.BeginUnmask()
	if err != nil {
		return err
	}
	u.Run(s.cfg.Workers)
	return s.FinishUnmask(u)
}

// Unmasking is the work that ends a round once the unmask phase has
// closed and the secrets are recovered: expanding the self mask of every
// survivor and the pair masks of every dropped site, removing them from
// the running sum, and decoding it. It is the round's expensive part (one
// PRG stream of the vector's length per mask), so a caller that must not
// block, such as the coordinator's engine, runs it elsewhere: BeginUnmask
// returns it, Run does the work on any goroutine (it shares nothing with
// the Server), and FinishUnmask hands the result back to the Server.
type Unmasking struct {
	sum       []uint32
	terms     []maskTerm
	params    Params
	n         int
	survivors []string
	dropped   []string
	ringOnly  bool
	done      bool
	result    *Result
	fault     *fault
}

// BeginUnmask closes the unmask phase: with at least t sites that revealed
// their shares, it recovers the secrets, checks them against their
// commitments and returns the unmasking to Run; otherwise, or when a
// secret does not check, the round aborts. The Server takes no message
// until FinishUnmask.
func (s *Server) BeginUnmask() (*Unmasking, error) {
	if s.phase != PhaseUnmask || s.unmasking != nil {
		return nil, s.fail("", failf(ErrPhase, "round is %s, not collecting unmask shares", s.phase))
	}
	u5 := sortedKeys(s.unmasked)
	if err := s.enough(u5); err != nil {
		return nil, err
	}
	var terms []maskTerm
	for _, v := range s.u3 {
		t, f := s.selfMaskTerm(v)
		if f != nil {
			return nil, s.abort(f)
		}
		terms = append(terms, t)
	}
	for _, u := range s.dropped {
		ts, f := s.droppedTerms(u)
		if f != nil {
			return nil, s.abort(f)
		}
		terms = append(terms, ts...)
	}
	s.unmasking = &Unmasking{sum: s.sum, terms: terms, params: s.ctx.Params, n: len(s.ctx.Roster),
		survivors: slices.Clone(s.u3), dropped: slices.Clone(s.dropped), ringOnly: s.cfg.RingOnly}
	s.sum, s.maskSh, s.selfSh = nil, nil, nil
	return s.unmasking, nil
}

// Run removes the masks from the sum with up to workers goroutines (0:
// GOMAXPROCS) and decodes it. It runs once.
func (u *Unmasking) Run(workers int) {
	if u.done {
		return
	}
	u.done = true
	applyTerms(u.sum, u.terms, workers)
	u.terms = nil
	if u.ringOnly {
		if len(u.sum) != u.params.Length+1 {
			u.fault = failf(ErrMalformed, "ring vector has %d elements, want %d", len(u.sum), u.params.Length+1)
			return
		}
		w := DecodeWeight(u.sum, u.params, u.n)
		if !(w > 0) {
			u.fault = failf(ErrTooFewSurvivors, "sum of weights %v", w)
			return
		}
		u.result = &Result{Ring: u.sum, WeightSum: w, Survivors: u.survivors, Dropped: u.dropped}
		return
	}
	sum, w, err := DecodeSum(u.sum, u.params, u.n)
	if err != nil {
		u.fault = failf(ErrMalformed, "%v", err)
		return
	}
	mean, err := Mean(sum, w)
	if err != nil {
		u.fault = failf(ErrTooFewSurvivors, "%v", err)
		return
	}
	u.result = &Result{Ring: u.sum, Sum: sum, WeightSum: w, Mean: mean, Survivors: u.survivors, Dropped: u.dropped}
}

// FinishUnmask ends the round with u's result, which Run has computed:
// Result returns it from now on, or the round aborts if decoding failed.
func (s *Server) FinishUnmask(u *Unmasking) error {
	switch {
	case u == nil || u != s.unmasking:
		return s.fail("", failf(ErrPhase, "not this round's unmasking"))
	case !u.done:
		return s.fail("", failf(ErrPhase, "unmasking has not run"))
	}
	s.unmasking = nil
	if u.fault != nil {
		return s.abort(u.fault)
	}
	s.result = u.result
	s.phase = PhaseDone
	s.log.Debug("secagg round done", "counts", s.describe())
	return nil
}

// selfMaskTerm recovers a survivor's self-mask secret and returns the term
// that removes its self mask.
func (s *Server) selfMaskTerm(v string) (maskTerm, *fault) {
	secret, err := recoverSecret(shareThreshold(s.ctx.Params), s.selfSh[v], s.coeffs)
	if err != nil {
		return maskTerm{}, failf(ErrTooFewSurvivors, "self-mask secret of %q: %v", v, err)
	}
	b := scalarBytes(secret)
	if c := secretCommit(s.hash, v, b); c != s.shareKeys[v].SelfMaskCommit {
		return maskTerm{}, failf(ErrInconsistentSharing, "self-mask secret of %q", v)
	}
	return maskTerm{key: selfMaskKey(b, s.hash), sub: true}, nil
}

// droppedTerms recovers a dropped site's mask-key secret, checks it against
// its advertised public keys, and returns the terms that remove its pair
// masks from the survivors' inputs.
func (s *Server) droppedTerms(u string) ([]maskTerm, *fault) {
	secret, err := recoverSecret(shareThreshold(s.ctx.Params), s.maskSh[u], s.coeffs)
	if err != nil {
		return nil, failf(ErrTooFewSurvivors, "mask-key secret of %q: %v", u, err)
	}
	mb := scalarBytes(secret)
	keys := deriveMaskKeys(mb)
	bu := s.bundles[u]
	if !bytes.Equal(keys.dhPub[:], bu.MaskDHKey) || !bytes.Equal(keys.kemPub, bu.MaskKEMKey) {
		return nil, failf(ErrInconsistentSharing, "mask-key secret of %q does not give its advertised keys", u)
	}
	ui := s.ctx.index(u)
	var terms []maskTerm
	for _, v := range s.u3 {
		vi := s.ctx.index(v)
		if !s.g.adjacent(ui, vi) {
			continue
		}
		key, f := s.rebuildPair(u, ui, v, vi, keys, mb)
		if f != nil {
			return nil, f
		}
		// v added +mask when vi < ui and -mask otherwise; undo it.
		terms = append(terms, maskTerm{key: key, sub: vi < ui})
	}
	return terms, nil
}

// rebuildPair recomputes the pair mask key of dropped site u and survivor v
// from u's reconstructed secret.
func (s *Server) rebuildPair(u string, ui int, v string, vi int, keys maskKeys, secret []byte) (MaskKey, *fault) {
	bv := s.bundles[v]
	dh, err := dhShared(keys.dhPriv, bv.MaskDHKey)
	if err != nil {
		return MaskKey{}, failf(ErrLowOrderKey, "pair of %q and %q", u, v)
	}
	in := pairInput{ctx: s.hash, dh: dh}
	if ui < vi {
		pub, _ := mlkem768.Scheme().UnmarshalBinaryPublicKey(bv.MaskKEMKey)
		ct, ss, err := mlkem768.Scheme().EncapsulateDeterministically(pub, encapSeed(secret, s.hash, v))
		if err != nil || !bytes.Equal(ct, s.entries[[2]string{u, v}].KEMCiphertext) {
			return MaskKey{}, failf(ErrInconsistentSharing, "ML-KEM ciphertext of %q to %q", u, v)
		}
		in.low, in.high, in.kemSS, in.kemCT = u, v, ss, ct
		in.dhLow, in.dhHigh, in.kemPubHigh = keys.dhPub[:], bv.MaskDHKey, bv.MaskKEMKey
	} else {
		ct := s.entries[[2]string{v, u}].KEMCiphertext
		ss, err := mlkem768.Scheme().Decapsulate(keys.kemPriv, ct)
		if err != nil {
			return MaskKey{}, failf(ErrBadKey, "ML-KEM ciphertext of %q to %q: %v", v, u, err)
		}
		in.low, in.high, in.kemSS, in.kemCT = v, u, ss, ct
		in.dhLow, in.dhHigh, in.kemPubHigh = bv.MaskDHKey, keys.dhPub[:], keys.kemPub
	}
	return pairKey(in), nil
}
