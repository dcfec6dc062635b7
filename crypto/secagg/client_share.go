package secagg

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// handleAdvertiseSet checks the peers' key bundles and returns the signed
// share distribution.
func (c *Client) handleAdvertiseSet(m *AdvertiseSet) (Message, error) {
	peers := make(map[string]*peer, len(m.Keys))
	sawSelf := false
	for _, k := range m.Keys {
		if k == nil {
			return nil, c.fail("", failf(ErrMalformed, "nil key bundle"))
		}
		if k.From == c.cfg.Self {
			if sawSelf || !sameBundle(k, c.bundle) {
				return nil, c.fail(k.From, failf(ErrIDMismatch, "own key bundle altered or repeated"))
			}
			sawSelf = true
			continue
		}
		if peers[k.From] != nil {
			return nil, c.fail(k.From, failf(ErrReplay, "key bundle listed twice"))
		}
		if idx := c.ctx.index(k.From); idx >= 0 && !c.g.adjacent(c.self, idx) {
			return nil, c.fail(k.From, failf(ErrUnknownSite, "not a neighbour of %q", c.cfg.Self))
		}
		pk, f := checkBundle(c.ctx, c.hash, k, c.cfg.VerifyIdentity, false)
		if f != nil {
			return nil, c.fail(k.From, f)
		}
		dh, err := dhShared(c.keys.dhPriv, k.MaskDHKey)
		if err != nil {
			return nil, c.fail(k.From, failf(ErrLowOrderKey, "mask X25519 key"))
		}
		peers[k.From] = &peer{idx: c.ctx.index(k.From), keys: k, parsed: pk, dh: dh}
	}
	if !sawSelf {
		return nil, c.fail(c.cfg.Self, failf(ErrInconsistentView, "own key bundle missing"))
	}
	if f := c.enoughPeers(len(peers), "key bundles"); f != nil {
		return nil, c.fail("", f)
	}
	sk, err := c.shareKeys(peers)
	if err != nil {
		return nil, err
	}
	c.peers = peers
	c.phase = PhaseMaskedInput
	return sk, nil
}

// enoughPeers refuses to go on with fewer peers than a reconstruction needs.
func (c *Client) enoughPeers(n int, what string) *fault {
	need := shareThreshold(c.ctx.Params) - 1
	if !c.ctx.Params.Sparse() {
		need = c.ctx.Params.Threshold - 1
	}
	if n < need {
		return failf(ErrTooFewSurvivors, "%d peer %s, need %d", n, what, need)
	}
	return nil
}

// shareKeys splits this site's two secrets among itself and its peers and
// builds one encrypted, signed entry per peer.
func (c *Client) shareKeys(peers map[string]*peer) (*ShareKeys, error) {
	holders := []int{c.self}
	for _, p := range peers {
		holders = append(holders, p.idx)
	}
	th := shareThreshold(c.ctx.Params)
	maskShares := splitSecret(c.cfg.Rand, c.maskSecret, th, holders)
	selfShares := splitSecret(c.cfg.Rand, c.selfSecret, th, holders)
	c.ownSelf = selfShares[c.self]
	sk := &ShareKeys{Header: c.ctx.header(), From: c.cfg.Self,
		SelfMaskCommit: secretCommit(c.hash, c.cfg.Self, scalarBytes(c.selfSecret)),
		OwnShareCommit: shareCommit(c.hash, kindSelf, c.cfg.Self, c.cfg.Self, c.ownSelf)}
	ids := make([]string, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := peers[id]
		e, err := c.entry(p, id, maskShares[p.idx], selfShares[p.idx])
		if err != nil {
			return nil, err
		}
		sk.Entries = append(sk.Entries, e)
	}
	sig, err := sign(c.cfg.Identity, sk.signed())
	if err != nil {
		return nil, fmt.Errorf("secagg: signing share keys: %w", err)
	}
	sk.Signature = sig
	return sk, nil
}

// entry builds the share entry for one peer.
func (c *Client) entry(p *peer, to string, maskShare, selfShare []byte) (*ShareEntry, error) {
	e := &ShareEntry{From: c.cfg.Self, To: to,
		MaskShareCommit: shareCommit(c.hash, kindMask, c.cfg.Self, to, maskShare),
		SelfShareCommit: shareCommit(c.hash, kindSelf, c.cfg.Self, to, selfShare)}
	if c.self < p.idx {
		ct, ss, err := mlkem768.Scheme().EncapsulateDeterministically(p.parsed.kem, encapSeed(scalarBytes(c.maskSecret), c.hash, to))
		if err != nil {
			return nil, fmt.Errorf("secagg: ML-KEM encapsulation to %q: %w", to, err)
		}
		e.KEMCiphertext, p.kemCT, p.kemSS = ct, ct, ss
	}
	pt := make([]byte, 4, 4+2*scalarSize)
	binary.BigEndian.PutUint32(pt, uint32(p.idx+1))
	pt = append(append(pt, maskShare...), selfShare...)
	snd, err := channelSuite.NewSender(p.parsed.channel, entryInfo(c.hash, c.cfg.Self, to))
	if err != nil {
		return nil, fmt.Errorf("secagg: HPKE sender: %w", err)
	}
	enc, sealer, err := snd.Setup(c.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("secagg: HPKE setup to %q: %w", to, err)
	}
	if e.Sealed, err = sealer.Seal(pt, nil); err != nil {
		return nil, fmt.Errorf("secagg: HPKE seal to %q: %w", to, err)
	}
	e.Encapsulation = enc
	h := c.ctx.header()
	if e.Signature, err = sign(c.cfg.Identity, e.signed(&h)); err != nil {
		return nil, fmt.Errorf("secagg: signing entry to %q: %w", to, err)
	}
	return e, nil
}

// entryInfo is the HPKE info string of an entry: it binds the ciphertext to
// the round and to the pair.
func entryInfo(hash [32]byte, from, to string) []byte {
	h := hashParts("share-info", hash[:], []byte(from), []byte(to))
	return h[:]
}

// relayed is one peer's accepted relay entry before the state is updated.
type relayed struct {
	p                    *peer
	maskShare, selfShare []byte
	pair                 MaskKey
}

// handleRelay opens the entries addressed to this site, agrees the pair
// mask keys with the surviving peers and, if the input is set, returns the
// masked input.
func (c *Client) handleRelay(m *ShareKeysRelay) (Message, error) {
	if c.u2 != nil {
		return nil, c.fail("", failf(ErrReplay, "share-keys relay already handled; waiting for the input"))
	}
	if m.To != c.cfg.Self {
		return nil, c.fail(m.To, failf(ErrIDMismatch, "relay addressed to %q", m.To))
	}
	if f := c.checkSurvivors(m.Survivors, nil, "share-keys survivors"); f != nil {
		return nil, c.fail("", f)
	}
	got := make(map[string]relayed, len(m.Entries))
	for _, e := range m.Entries {
		r, f := c.openEntry(e, m.Survivors, got)
		if f != nil {
			return nil, c.fail(e.From, f)
		}
		got[e.From] = r
	}
	for id := range c.peers {
		if _, ok := slices.BinarySearch(m.Survivors, id); ok {
			if _, ok := got[id]; !ok {
				return nil, c.fail(id, failf(ErrInconsistentView, "listed as a survivor but sent no entry"))
			}
		}
	}
	if f := c.enoughPeers(len(got), "entries"); f != nil {
		return nil, c.fail("", f)
	}
	for _, r := range got {
		r.p.maskShare, r.p.selfShare, r.p.pair = r.maskShare, r.selfShare, r.pair
	}
	c.u2 = slices.Clone(m.Survivors)
	if !c.haveInput {
		return nil, nil
	}
	return c.maskedInput()
}

// checkSurvivors checks a survivor list: sorted, unique, in the roster,
// within the previous list (when given), holding this site, and at least t
// long.
func (c *Client) checkSurvivors(list, within []string, what string) *fault {
	for i, id := range list {
		if c.ctx.index(id) < 0 {
			return failf(ErrUnknownSite, "%s: %q is not in the roster", what, id)
		}
		if i > 0 && list[i-1] >= id {
			return failf(ErrMalformed, "%s: not sorted and unique at %q", what, id)
		}
		if within != nil {
			if _, ok := slices.BinarySearch(within, id); !ok {
				return failf(ErrInconsistentView, "%s: %q was not in the previous list", what, id)
			}
		}
	}
	if _, ok := slices.BinarySearch(list, c.cfg.Self); !ok {
		return failf(ErrInconsistentView, "%s: this site is missing", what)
	}
	if len(list) < c.ctx.Params.Threshold {
		return failf(ErrTooFewSurvivors, "%s: %d sites, need %d", what, len(list), c.ctx.Params.Threshold)
	}
	return nil
}

// openEntry authenticates, decrypts and checks one relayed entry, and
// agrees the pair mask key with its sender.
func (c *Client) openEntry(e *ShareEntry, survivors []string, got map[string]relayed) (relayed, *fault) {
	if e == nil {
		return relayed{}, failf(ErrMalformed, "nil entry")
	}
	p := c.peers[e.From]
	switch {
	case p == nil:
		return relayed{}, failf(ErrUnknownSite, "entry from a site whose key bundle was not accepted")
	case e.To != c.cfg.Self:
		return relayed{}, failf(ErrIDMismatch, "entry addressed to %q", e.To)
	}
	if _, ok := got[e.From]; ok {
		return relayed{}, failf(ErrDuplicateShare, "second entry from the same site")
	}
	if _, ok := slices.BinarySearch(survivors, e.From); !ok {
		return relayed{}, failf(ErrUnknownSite, "entry from a site not listed as a survivor")
	}
	h := c.ctx.header()
	if !verifySig(p.keys.IdentityKey, e.signed(&h), e.Signature) {
		return relayed{}, failf(ErrBadSignature, "share entry")
	}
	maskShare, selfShare, f := c.openShares(e)
	if f != nil {
		return relayed{}, f
	}
	pair, f := c.agreePair(p, e)
	if f != nil {
		return relayed{}, f
	}
	return relayed{p: p, maskShare: maskShare, selfShare: selfShare, pair: pair}, nil
}

// openShares decrypts an entry and checks the share ID and commitments.
func (c *Client) openShares(e *ShareEntry) (maskShare, selfShare []byte, f *fault) {
	rcv, err := channelSuite.NewReceiver(c.chanPriv, entryInfo(c.hash, e.From, c.cfg.Self))
	if err != nil {
		return nil, nil, failf(ErrBadShare, "HPKE receiver: %v", err)
	}
	op, err := rcv.Setup(e.Encapsulation)
	if err != nil {
		return nil, nil, failf(ErrBadShare, "HPKE setup: %v", err)
	}
	pt, err := op.Open(e.Sealed, nil)
	if err != nil || len(pt) != 4+2*scalarSize {
		return nil, nil, failf(ErrBadShare, "shares do not decrypt")
	}
	if id := binary.BigEndian.Uint32(pt); id != uint32(c.self+1) {
		return nil, nil, failf(ErrIDMismatch, "share ID %d, this site holds ID %d", id, c.self+1)
	}
	maskShare, selfShare = pt[4:4+scalarSize], pt[4+scalarSize:]
	for _, s := range [][]byte{maskShare, selfShare} {
		if err := ristretto.NewScalar().UnmarshalBinary(s); err != nil {
			return nil, nil, failf(ErrBadShare, "share is not a canonical scalar")
		}
	}
	mc := shareCommit(c.hash, kindMask, e.From, c.cfg.Self, maskShare)
	sc := shareCommit(c.hash, kindSelf, e.From, c.cfg.Self, selfShare)
	if subtle.ConstantTimeCompare(mc[:], e.MaskShareCommit[:]) != 1 || subtle.ConstantTimeCompare(sc[:], e.SelfShareCommit[:]) != 1 {
		return nil, nil, failf(ErrBadShare, "share does not match the signed commitment")
	}
	return maskShare, selfShare, nil
}

// agreePair derives the hybrid X25519 + ML-KEM-768 pair mask key.
func (c *Client) agreePair(p *peer, e *ShareEntry) (MaskKey, *fault) {
	in := pairInput{ctx: c.hash, dh: p.dh}
	if c.self < p.idx {
		if len(e.KEMCiphertext) != 0 {
			return MaskKey{}, failf(ErrMalformed, "ML-KEM ciphertext from the higher-indexed site")
		}
		in.low, in.high, in.kemSS, in.kemCT = c.cfg.Self, e.From, p.kemSS, p.kemCT
		in.dhLow, in.dhHigh, in.kemPubHigh = c.keys.dhPub[:], p.keys.MaskDHKey, p.keys.MaskKEMKey
	} else {
		if len(e.KEMCiphertext) != kemCTSize {
			return MaskKey{}, failf(ErrMalformed, "ML-KEM ciphertext of %d bytes", len(e.KEMCiphertext))
		}
		ss, err := mlkem768.Scheme().Decapsulate(c.keys.kemPriv, e.KEMCiphertext)
		if err != nil {
			return MaskKey{}, failf(ErrBadKey, "ML-KEM decapsulation: %v", err)
		}
		in.low, in.high, in.kemSS, in.kemCT = e.From, c.cfg.Self, ss, e.KEMCiphertext
		in.dhLow, in.dhHigh, in.kemPubHigh = p.keys.MaskDHKey, c.keys.dhPub[:], c.keys.kemPub
	}
	return pairKey(in), nil
}

// maskedInput adds the self mask and the pair masks to the encoded input
// and returns the signed message.
func (c *Client) maskedInput() (*MaskedInput, error) {
	y := c.input
	switch {
	case c.premasked: // SetInput added the input to the precomputed mask
	case c.mask != nil:
		addVec(y, c.mask, false)
		clear(c.mask)
		c.mask = nil
	default:
		applyTerms(y, c.maskTerms(), c.cfg.Workers)
	}
	c.input = nil
	m := &MaskedInput{Header: c.ctx.header(), From: c.cfg.Self, Data: y}
	c.phase = PhaseConsistency
	return m, nil
}
