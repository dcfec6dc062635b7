package secagg

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
)

// fixture steps a small round phase by phase so that tests can tamper with
// single messages. It uses only the package's own state machines.
type fixture struct {
	t      testing.TB
	ctx    Context
	keys   map[string]ed25519.PrivateKey
	verify IdentityVerifier
	srv    *Server
	cl     map[string]*Client
	inputs map[string]Input
}

// newFixture returns a round of n sites whose inputs are set up front.
func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	f := newLateFixture(t, n)
	for id, c := range f.cl {
		if _, err := c.SetInput(f.inputs[id]); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// newLateFixture returns a round of n sites whose inputs (f.inputs) are
// not given yet.
func newLateFixture(t testing.TB, n int) *fixture {
	t.Helper()
	f := &fixture{t: t, keys: map[string]ed25519.PrivateKey{}, cl: map[string]*Client{}, inputs: map[string]Input{}}
	pins := map[string]ed25519.PublicKey{}
	var roster []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s%02d", i)
		seed := sha256.Sum256([]byte(id))
		f.keys[id] = ed25519.NewKeyFromSeed(seed[:])
		pins[id] = f.keys[id].Public().(ed25519.PublicKey)
		roster = append(roster, id)
	}
	f.verify = PinnedKeys(pins)
	cfg := DefaultConfig()
	cfg.MaxWeight = 1
	p, err := cfg.Params(n, 8)
	if err != nil {
		t.Fatal(err)
	}
	f.ctx = Context{Session: "job", Round: 3, Roster: roster, Params: p}
	if f.srv, err = NewServer(ServerConfig{Context: f.ctx, VerifyIdentity: f.verify}); err != nil {
		t.Fatal(err)
	}
	for _, id := range roster {
		c, err := NewClient(ClientConfig{Context: f.ctx, Self: id, Identity: f.keys[id], VerifyIdentity: f.verify})
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, p.Length)
		for i := range v {
			v[i] = float32(i) / 10
		}
		f.inputs[id] = Input{Values: v, Weight: 1}
		f.cl[id] = c
	}
	return f
}

// advertise returns every site's key bundle (not yet delivered).
func (f *fixture) advertise() map[string]Message {
	out := map[string]Message{}
	for id, c := range f.cl {
		m, err := c.Advertise()
		if err != nil {
			f.t.Fatal(err)
		}
		out[id] = m
	}
	return out
}

// send delivers site messages to the aggregator and fails on a refusal.
func (f *fixture) send(msgs map[string]Message) {
	f.t.Helper()
	for id, m := range msgs {
		if err := f.srv.Handle(id, m); err != nil {
			f.t.Fatalf("aggregator refused %s from %s: %v", m.Type(), id, err)
		}
	}
}

// advance closes the aggregator's phase.
func (f *fixture) advance() Outbox {
	f.t.Helper()
	box, err := f.srv.Advance()
	if err != nil {
		f.t.Fatalf("advance: %v", err)
	}
	return box
}

// reply hands each site its message and collects the answers.
func (f *fixture) reply(box Outbox) map[string]Message {
	f.t.Helper()
	out := map[string]Message{}
	for id, m := range box {
		r, err := f.cl[id].Handle(m)
		if err != nil {
			f.t.Fatalf("site %s refused %s: %v", id, m.Type(), err)
		}
		if r != nil {
			out[id] = r
		}
	}
	return out
}

// step delivers msgs, advances and returns the sites' replies, along with
// the outbox the replies answer.
func (f *fixture) step(msgs map[string]Message) (Outbox, map[string]Message) {
	f.send(msgs)
	box := f.advance()
	return box, f.reply(box)
}

// resign signs a tampered message again with its sender's real key, so
// that only the tampering (not the signature) can be refused.
func (f *fixture) resign(m Message) {
	switch m := m.(type) {
	case *AdvertiseKeys:
		m.Signature, _ = sign(f.keys[m.From], m.signed())
	case *ShareKeys:
		m.Signature, _ = sign(f.keys[m.From], m.signed())
	case *ConsistencySig:
		m.Signature, _ = sign(f.keys[m.From], m.signed())
	case *UnmaskShares:
		m.Signature, _ = sign(f.keys[m.From], m.signed())
	}
}

// wantRefusal checks that err is a *RefusalError with the given reason.
func wantRefusal(t testing.TB, err, reason error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want refusal %v", reason)
	}
	re, ok := err.(*RefusalError)
	if !ok {
		t.Fatalf("error %T %v, want *RefusalError", err, err)
	}
	if re.Reason != reason {
		t.Fatalf("refused with %v (%v), want %v", re.Reason, err, reason)
	}
}
