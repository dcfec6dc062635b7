package secagg

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/kem"
)

// ClientConfig configures one site's state machine for one round.
type ClientConfig struct {
	// Context is the round, built by the site from the job description.
	Context Context
	// Self is this site's ID; it must be in the roster.
	Self string
	// Identity signs this site's messages; its public key must be Ed25519
	// (the key of the site's certificate in a startup kit).
	Identity crypto.Signer
	// Certificate is this site's DER certificate, advertised so that peers'
	// verifier hooks can check the identity key (optional).
	Certificate []byte
	// VerifyIdentity checks the peers' identity keys (required).
	VerifyIdentity IdentityVerifier
	// Rand is the randomness source; nil means crypto/rand.
	Rand io.Reader
	// Workers bounds the goroutines that expand masks; 0 means GOMAXPROCS.
	Workers int
	// Logger receives debug events; nil discards them.
	Logger Logger
}

// peer is what a site knows about one neighbour.
type peer struct {
	idx       int
	keys      *AdvertiseKeys
	parsed    parsedKeys
	dh        []byte  // X25519 shared secret
	kemSS     []byte  // ML-KEM secret when this site encapsulated to the peer
	kemCT     []byte  // that encapsulation
	maskShare []byte  // this site's share of the peer's mask-key secret
	selfShare []byte  // this site's share of the peer's self-mask secret
	pair      MaskKey // agreed pair mask key
}

// Client is one site's secure-aggregation state machine for one round. It
// performs no I/O: the caller feeds it the aggregator's messages and sends
// the messages it returns. It is not safe for concurrent use.
type Client struct {
	cfg   ClientConfig
	ctx   *Context
	hash  [32]byte
	self  int
	g     graph
	phase Phase
	log   logger

	maskSecret, selfSecret group.Scalar
	keys                   maskKeys
	chanPriv               kem.PrivateKey
	bundle                 *AdvertiseKeys

	peers      map[string]*peer // neighbours whose bundles were accepted
	ownSelf    []byte           // own share of the own self-mask secret
	u2         []string
	input      []uint32
	haveInput  bool
	mask       []uint32 // the whole mask, when expanded ahead (SetMask)
	premasked  bool     // input was encoded into the precomputed mask (SetInput)
	u3         []string
	u3Digest   [32]byte
	consistent *ConsistencySig
	revealed   map[string]byte // peer -> kind of share revealed
	lastReq    [32]byte
	lastReply  *UnmaskShares
}

// NewClient validates the configuration and returns a site in the
// advertise phase.
func NewClient(cfg ClientConfig) (*Client, error) {
	var errs []error
	if err := cfg.Context.Validate(); err != nil {
		errs = append(errs, err)
	}
	self := cfg.Context.index(cfg.Self)
	if self < 0 {
		errs = append(errs, fmt.Errorf("secagg: site %q is not in the roster: %w", cfg.Self, ErrUnknownSite))
	}
	if cfg.Identity == nil {
		errs = append(errs, errors.New("secagg: client needs an identity key"))
	} else if _, ok := cfg.Identity.Public().(ed25519.PublicKey); !ok {
		errs = append(errs, fmt.Errorf("secagg: identity key is %T, want Ed25519", cfg.Identity.Public()))
	}
	if cfg.VerifyIdentity == nil {
		errs = append(errs, errors.New("secagg: client needs an identity verifier"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	c := &Client{cfg: cfg, self: self, phase: PhaseAdvertise, revealed: map[string]byte{}}
	c.ctx = &c.cfg.Context
	c.hash = c.ctx.Hash()
	c.g = newGraph(c.ctx, c.hash)
	c.log = newLogger(cfg.Logger, "site", cfg.Self, "session", c.ctx.Session, "round", c.ctx.Round)
	return c, nil
}

// Phase returns the phase whose message the site will produce next.
func (c *Client) Phase() Phase { return c.phase }

// fail ties a fault to this site's round and current phase.
func (c *Client) fail(site string, f *fault) error {
	err := refuse(c.ctx, c.phase, site, f)
	c.log.Debug("secagg refusal", "err", err)
	return err
}

// Advertise draws the round's secrets and returns the signed key bundle.
func (c *Client) Advertise() (*AdvertiseKeys, error) {
	if c.phase != PhaseAdvertise {
		return nil, c.fail(c.cfg.Self, failf(ErrPhase, "already advertised"))
	}
	var err error
	if c.maskSecret, err = randScalar(c.cfg.Rand); err != nil {
		return nil, err
	}
	if c.selfSecret, err = randScalar(c.cfg.Rand); err != nil {
		return nil, err
	}
	c.keys = deriveMaskKeys(scalarBytes(c.maskSecret))
	seed := make([]byte, channelKEM.SeedSize())
	if _, err := io.ReadFull(c.cfg.Rand, seed); err != nil {
		return nil, fmt.Errorf("secagg: reading randomness: %w", err)
	}
	chanPub, chanPriv := channelKEM.DeriveKeyPair(seed)
	c.chanPriv = chanPriv
	k := &AdvertiseKeys{
		Header:      c.ctx.header(),
		From:        c.cfg.Self,
		IdentityKey: c.cfg.Identity.Public().(ed25519.PublicKey),
		Certificate: c.cfg.Certificate,
		MaskDHKey:   append([]byte(nil), c.keys.dhPub[:]...),
		MaskKEMKey:  c.keys.kemPub,
	}
	k.ChannelKey, _ = chanPub.MarshalBinary()
	if k.Signature, err = sign(c.cfg.Identity, k.signed()); err != nil {
		return nil, fmt.Errorf("secagg: signing key bundle: %w", err)
	}
	c.bundle = k
	c.phase = PhaseShareKeys
	return k, nil
}

// Handle processes one message from the aggregator and returns the message
// to send back, or nil when there is nothing to send yet (a ShareKeysRelay
// that arrives before SetInput). A refused message leaves the state as it
// was, so a correct message may still follow.
func (c *Client) Handle(m Message) (Message, error) {
	if c.phase == PhaseFailed {
		return nil, c.fail("", failf(ErrAborted, "site already failed this round"))
	}
	if m == nil {
		return nil, c.fail("", failf(ErrMalformed, "nil message"))
	}
	if f := checkHeader(c.ctx, c.hash, m.header()); f != nil {
		return nil, c.fail("", f)
	}
	want := map[MessageType]Phase{
		TypeAdvertiseSet: PhaseShareKeys, TypeShareKeysRelay: PhaseMaskedInput,
		TypeConsistencyRequest: PhaseConsistency, TypeUnmaskRequest: PhaseUnmask,
	}
	ph, ok := want[m.Type()]
	if !ok {
		return nil, c.fail("", failf(ErrPhase, "a site does not accept %s", m.Type()))
	}
	switch {
	case m.Type() == TypeUnmaskRequest && c.phase == PhaseDone:
		return c.handleUnmask(m.(*UnmaskRequest))
	case m.Type() == TypeConsistencyRequest && c.phase > ph && c.consistent != nil:
		return c.repeatConsistency(m.(*ConsistencyRequest))
	case c.phase > ph:
		return nil, c.fail("", failf(ErrReplay, "%s already handled", m.Type()))
	case c.phase < ph:
		return nil, c.fail("", failf(ErrPhase, "%s before %s", m.Type(), c.phase))
	}
	switch m := m.(type) {
	case *AdvertiseSet:
		return c.handleAdvertiseSet(m)
	case *ShareKeysRelay:
		return c.handleRelay(m)
	case *ConsistencyRequest:
		return c.handleConsistency(m)
	case *UnmaskRequest:
		return c.handleUnmask(m)
	}
	return nil, c.fail("", failf(ErrPhase, "unexpected %T", m))
}

// SetInput gives the site its update. When the share-keys relay has already
// been handled it returns the MaskedInput to send; otherwise nil, and the
// masked input is returned by Handle when the relay arrives.
func (c *Client) SetInput(in Input) (*MaskedInput, error) {
	if c.haveInput || c.phase > PhaseMaskedInput {
		return nil, c.fail(c.cfg.Self, failf(ErrPhase, "input already given"))
	}
	var enc []uint32
	var clipped int
	var err error
	if c.mask != nil {
		// Masked in place: the precomputed mask becomes the masked input.
		clipped, err = encodeAdd(c.mask, in, c.ctx.Params, len(c.ctx.Roster))
		enc = c.mask
	} else {
		enc, clipped, err = Encode(in, c.ctx.Params, len(c.ctx.Roster))
	}
	if err != nil {
		return nil, c.fail(c.cfg.Self, failf(ErrBadInput, "%v", err))
	}
	if clipped > 0 {
		c.log.Info("secagg input clipped", "elements", clipped, "clip", c.ctx.Params.Clip)
	}
	c.input, c.haveInput, c.premasked = enc, true, c.mask != nil
	c.mask = nil
	if c.phase == PhaseMaskedInput && c.u2 != nil {
		return c.maskedInput()
	}
	return nil, nil
}

// Forget drops the round's secrets. The site calls it when it leaves a
// round early; a site that answered the unmask request forgets them by
// itself (it keeps only its answer, to repeat it).
func (c *Client) Forget() {
	c.maskSecret, c.selfSecret, c.chanPriv = nil, nil, nil
	c.keys = maskKeys{}
	for _, p := range c.peers {
		p.maskShare, p.selfShare, p.kemSS, p.pair = nil, nil, nil, MaskKey{}
	}
	clear(c.mask)
	c.ownSelf, c.input, c.mask = nil, nil, nil
}
