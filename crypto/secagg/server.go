package secagg

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// ServerConfig configures the aggregator's state machine for one round.
type ServerConfig struct {
	// Context is the round; the aggregator builds it from the job.
	Context Context
	// VerifyIdentity checks each site's identity key (required).
	VerifyIdentity IdentityVerifier
	// Workers bounds the goroutines that expand masks; 0 means GOMAXPROCS.
	Workers int
	// Logger receives debug events; nil discards them.
	Logger Logger
	// RingOnly leaves Result.Sum and Result.Mean nil: the Result holds the
	// ring sum and the weight sum, to decode with DecodeElement. Sum and
	// Mean are three more copies of the vector, which a study-size model
	// cannot afford.
	RingOnly bool
}

// Result is the output of a completed round: only the sum over the
// survivors, never an individual input.
type Result struct {
	// Ring is the sum in Z/2^32 of the survivors' encoded inputs (Length+1
	// elements, the last being the weight).
	Ring []uint32
	// Sum is the decoded weighted sum of the model elements.
	Sum []float64
	// WeightSum is the decoded sum of the pre-scaled weights.
	WeightSum float64
	// Mean is Sum divided by WeightSum.
	Mean []float32
	// Survivors lists the sites whose inputs are in the sum (U3).
	Survivors []string
	// Dropped lists the sites that shared keys but sent no input; their
	// pair masks were removed with their reconstructed keys.
	Dropped []string
}

// Outbox holds the messages the aggregator must send when a phase closes:
// one per recipient (several recipients may share one message value).
type Outbox map[string]Message

// Server is the aggregator's state machine for one round. It performs no
// I/O: the caller passes in each site's message with the site ID taken from
// the authenticated connection (never from the message), calls Advance when
// a phase's deadline passes or Pending is empty, and sends the Outbox. It is
// not safe for concurrent use.
type Server struct {
	cfg   ServerConfig
	ctx   *Context
	hash  [32]byte
	g     graph
	phase Phase
	log   logger

	bundles   map[string]*AdvertiseKeys
	shareKeys map[string]*ShareKeys
	entries   map[[2]string]*ShareEntry // (from, to) -> entry
	inputs    map[string]bool
	sum       []uint32
	sigs      map[string]*ConsistencySig
	unmasked  map[string]bool
	maskSh    map[string]map[int][]byte // owner -> holder index -> share
	selfSh    map[string]map[int][]byte
	coeffs    lagrangeCache // Lagrange coefficients per holder set
	u1, u2    []string
	u3, u4    []string
	dropped   []string
	unmasking *Unmasking // between BeginUnmask and FinishUnmask
	result    *Result
	failure   error
}

// NewServer validates the configuration and returns an aggregator in the
// advertise phase.
func NewServer(cfg ServerConfig) (*Server, error) {
	var errs []error
	if err := cfg.Context.Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.VerifyIdentity == nil {
		errs = append(errs, errors.New("secagg: server needs an identity verifier"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := &Server{cfg: cfg, phase: PhaseAdvertise,
		bundles: map[string]*AdvertiseKeys{}, shareKeys: map[string]*ShareKeys{},
		entries: map[[2]string]*ShareEntry{}, inputs: map[string]bool{},
		sigs: map[string]*ConsistencySig{}, unmasked: map[string]bool{},
		maskSh: map[string]map[int][]byte{}, selfSh: map[string]map[int][]byte{}, coeffs: lagrangeCache{}}
	s.ctx = &s.cfg.Context
	s.hash = s.ctx.Hash()
	s.g = newGraph(s.ctx, s.hash)
	s.log = newLogger(cfg.Logger, "session", s.ctx.Session, "round", s.ctx.Round)
	return s, nil
}

// Phase returns the phase whose messages the aggregator is collecting.
func (s *Server) Phase() Phase { return s.phase }

// Result returns the round's output once it is done.
func (s *Server) Result() (*Result, error) {
	if s.result == nil {
		if s.failure != nil {
			return nil, s.failure
		}
		return nil, refuse(s.ctx, s.phase, "", failf(ErrPhase, "round not finished"))
	}
	return s.result, nil
}

// Pending lists the sites the aggregator still expects a message from in
// the current phase; when it is empty the caller may Advance at once.
func (s *Server) Pending() []string {
	if s.unmasking != nil {
		return nil
	}
	var from []string
	var got func(string) bool
	switch s.phase {
	case PhaseAdvertise:
		from, got = s.ctx.Roster, func(id string) bool { return s.bundles[id] != nil }
	case PhaseShareKeys:
		from, got = s.u1, func(id string) bool { return s.shareKeys[id] != nil }
	case PhaseMaskedInput:
		from, got = s.u2, func(id string) bool { return s.inputs[id] }
	case PhaseConsistency:
		from, got = s.u3, func(id string) bool { return s.sigs[id] != nil }
	case PhaseUnmask:
		from, got = s.u4, func(id string) bool { return s.unmasked[id] }
	default:
		return nil
	}
	var out []string
	for _, id := range from {
		if !got(id) {
			out = append(out, id)
		}
	}
	return out
}

// fail ties a fault to the current phase and a site, and logs it.
func (s *Server) fail(site string, f *fault) error {
	err := refuse(s.ctx, s.phase, site, f)
	s.log.Debug("secagg refusal", "err", err)
	return err
}

// Handle accepts one message from site from (the identity authenticated by
// the transport). A refused message changes nothing and returns a
// *RefusalError naming the reason; the round goes on.
func (s *Server) Handle(from string, m Message) error {
	if f := s.precheck(from, m); f != nil {
		return s.fail(from, f)
	}
	var f *fault
	switch m := m.(type) {
	case *AdvertiseKeys:
		f = s.handleAdvertise(from, m)
	case *ShareKeys:
		f = s.handleShareKeys(from, m)
	case *MaskedInput:
		f = s.handleMaskedInput(from, m)
	case *ConsistencySig:
		f = s.handleConsistency(from, m)
	case *UnmaskShares:
		f = s.handleUnmask(from, m)
	}
	if f != nil {
		return s.fail(from, f)
	}
	return nil
}

// precheck is what Handle checks of every message before its kind's
// handler: the round is open, the sender is in the roster, the header is
// this round's and the message belongs to the current phase.
func (s *Server) precheck(from string, m Message) *fault {
	if s.phase == PhaseFailed || s.phase == PhaseDone {
		return failf(ErrAborted, "round is %s", s.phase)
	}
	if s.unmasking != nil {
		return failf(ErrPhase, "the unmask phase has closed")
	}
	if m == nil {
		return failf(ErrMalformed, "nil message")
	}
	if s.ctx.index(from) < 0 {
		return failf(ErrUnknownSite, "sender is not in the roster")
	}
	if f := checkHeader(s.ctx, s.hash, m.header()); f != nil {
		return f
	}
	want := map[MessageType]Phase{TypeAdvertiseKeys: PhaseAdvertise, TypeShareKeys: PhaseShareKeys,
		TypeMaskedInput: PhaseMaskedInput, TypeConsistencySig: PhaseConsistency, TypeUnmaskShares: PhaseUnmask}
	ph, ok := want[m.Type()]
	switch {
	case !ok:
		return failf(ErrPhase, "the aggregator does not accept %s", m.Type())
	case ph != s.phase:
		return failf(ErrPhase, "%s during %s", m.Type(), s.phase)
	}
	return nil
}

// senderOK checks the message's sender field against the authenticated
// sender, that the sender survived the previous phase, and that it has not
// sent this message already.
func senderOK(from, claimed string, prev []string, already bool) *fault {
	if claimed != from {
		return failf(ErrIDMismatch, "message claims to be from %q", claimed)
	}
	if prev != nil {
		if _, ok := slices.BinarySearch(prev, from); !ok {
			return failf(ErrUnknownSite, "did not survive the previous phase")
		}
	}
	if already {
		return failf(ErrReplay, "message already accepted in this phase")
	}
	return nil
}

func (s *Server) handleAdvertise(from string, m *AdvertiseKeys) *fault {
	if f := senderOK(from, m.From, nil, s.bundles[from] != nil); f != nil {
		return f
	}
	if _, f := checkBundle(s.ctx, s.hash, m, s.cfg.VerifyIdentity, true); f != nil {
		return f
	}
	s.bundles[from] = m
	return nil
}

func (s *Server) handleMaskedInput(from string, m *MaskedInput) *fault {
	if f := senderOK(from, m.From, s.u2, s.inputs[from]); f != nil {
		return f
	}
	if len(m.Data) != s.ctx.Params.Length+1 {
		return failf(ErrMalformed, "masked input of %d elements, want %d", len(m.Data), s.ctx.Params.Length+1)
	}
	if s.sum == nil {
		s.sum = make([]uint32, len(m.Data))
	}
	addVec(s.sum, m.Data, false)
	s.inputs[from] = true
	return nil
}

func (s *Server) handleConsistency(from string, m *ConsistencySig) *fault {
	if f := senderOK(from, m.From, s.u3, s.sigs[from] != nil); f != nil {
		return f
	}
	if m.ListDigest != listDigest(s.hash, s.u3) {
		return failf(ErrInconsistentView, "signed a different survivor list")
	}
	if !verifySig(s.bundles[from].IdentityKey, m.signed(), m.Signature) {
		return failf(ErrBadSignature, "consistency signature")
	}
	s.sigs[from] = m
	return nil
}

// sortedKeys returns the sorted keys of a set.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// abort fails the round: no output will ever be produced.
func (s *Server) abort(f *fault) error {
	err := s.fail("", f)
	s.phase, s.failure = PhaseFailed, err
	s.sum, s.unmasking = nil, nil
	s.maskSh, s.selfSh = nil, nil
	s.log.Info("secagg round aborted", "err", err)
	return err
}

// Abort fails the round from outside (for example when the job is
// cancelled): no output will be produced and every later call is refused.
func (s *Server) Abort(reason string) error {
	if s.phase == PhaseDone || s.phase == PhaseFailed {
		return s.fail("", failf(ErrPhase, "round is already %s", s.phase))
	}
	s.abort(failf(ErrAborted, "%s", reason))
	return nil
}

// enough aborts the round when a phase closes with fewer than t senders.
func (s *Server) enough(list []string) error {
	if len(list) < s.ctx.Params.Threshold {
		return s.abort(failf(ErrTooFewSurvivors, "%d sites after %s, need %d", len(list), s.phase, s.ctx.Params.Threshold))
	}
	return nil
}

// Advance closes the current phase and returns the messages that open the
// next one. Closing the unmask phase computes the Result. With fewer than t
// senders the round aborts for good: the error wraps ErrTooFewSurvivors and
// no output is ever produced.
func (s *Server) Advance() (Outbox, error) {
	switch s.phase {
	case PhaseAdvertise:
		return s.closeAdvertise()
	case PhaseShareKeys:
		return s.closeShareKeys()
	case PhaseMaskedInput:
		return s.closeMaskedInput()
	case PhaseConsistency:
		return s.closeConsistency()
	case PhaseUnmask:
		return nil, s.closeUnmask()
	}
	if s.failure != nil {
		return nil, s.failure
	}
	return nil, s.fail("", failf(ErrPhase, "round is %s", s.phase))
}

func (s *Server) closeAdvertise() (Outbox, error) {
	s.u1 = sortedKeys(s.bundles)
	if err := s.enough(s.u1); err != nil {
		return nil, err
	}
	out := Outbox{}
	var all *AdvertiseSet
	for _, u := range s.u1 {
		if !s.ctx.Params.Sparse() {
			if all == nil {
				all = &AdvertiseSet{Header: s.ctx.header()}
				for _, v := range s.u1 {
					all.Keys = append(all.Keys, s.bundles[v])
				}
			}
			out[u] = all
			continue
		}
		set := &AdvertiseSet{Header: s.ctx.header()}
		ui := s.ctx.index(u)
		for _, v := range s.u1 {
			if v == u || s.g.adjacent(ui, s.ctx.index(v)) {
				set.Keys = append(set.Keys, s.bundles[v])
			}
		}
		out[u] = set
	}
	s.phase = PhaseShareKeys
	return out, nil
}

func (s *Server) closeShareKeys() (Outbox, error) {
	s.u2 = sortedKeys(s.shareKeys)
	if err := s.enough(s.u2); err != nil {
		return nil, err
	}
	out := Outbox{}
	for _, u := range s.u2 {
		r := &ShareKeysRelay{Header: s.ctx.header(), To: u, Survivors: s.u2}
		for _, v := range s.u2 {
			if e := s.entries[[2]string{v, u}]; e != nil {
				r.Entries = append(r.Entries, e)
			}
		}
		out[u] = r
	}
	s.phase = PhaseMaskedInput
	return out, nil
}

func (s *Server) closeMaskedInput() (Outbox, error) {
	s.u3 = sortedKeys(s.inputs)
	if err := s.enough(s.u3); err != nil {
		return nil, err
	}
	req := &ConsistencyRequest{Header: s.ctx.header(), Survivors: s.u3}
	out := Outbox{}
	for _, u := range s.u3 {
		out[u] = req
	}
	for _, u := range s.u2 {
		if !s.inputs[u] {
			s.dropped = append(s.dropped, u)
		}
	}
	s.phase = PhaseConsistency
	return out, nil
}

func (s *Server) closeConsistency() (Outbox, error) {
	s.u4 = sortedKeys(s.sigs)
	if err := s.enough(s.u4); err != nil {
		return nil, err
	}
	out := Outbox{}
	var all *UnmaskRequest
	for _, u := range s.u4 {
		if !s.ctx.Params.Sparse() {
			if all == nil {
				all = &UnmaskRequest{Header: s.ctx.header(), Survivors: s.u3, Dropped: s.dropped}
				for _, v := range s.u4 {
					all.Signatures = append(all.Signatures, s.sigs[v])
				}
			}
			out[u] = all
			continue
		}
		req := &UnmaskRequest{Header: s.ctx.header(), Survivors: s.u3, Dropped: s.dropped}
		ui := s.ctx.index(u)
		for _, v := range s.u4 {
			if v == u || s.g.adjacent(ui, s.ctx.index(v)) {
				req.Signatures = append(req.Signatures, s.sigs[v])
			}
		}
		out[u] = req
	}
	s.phase = PhaseUnmask
	return out, nil
}

// describe summarises the round's survivor counts for logs.
func (s *Server) describe() string {
	return fmt.Sprintf("U1=%d U2=%d U3=%d U4=%d U5=%d", len(s.u1), len(s.u2), len(s.u3), len(s.u4), len(s.unmasked))
}
