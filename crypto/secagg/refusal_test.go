package secagg

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
)

// clone deep-copies a message through its encoding.
func clone(t testing.TB, m Message) Message {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lowOrderPoint is an X25519 public key of order 8.
var lowOrderPoint = []byte{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00}

func TestAggregatorRefusesAdvertise(t *testing.T) {
	other := func(f *fixture, session string, round uint64) *AdvertiseKeys {
		ctx := f.ctx
		ctx.Session, ctx.Round = session, round
		c, err := NewClient(ClientConfig{Context: ctx, Self: "s01", Identity: f.keys["s01"], VerifyIdentity: f.verify})
		if err != nil {
			t.Fatal(err)
		}
		m, _ := c.Advertise()
		return m
	}
	cases := []struct {
		name   string
		from   string
		mutate func(f *fixture, m *AdvertiseKeys) Message
		reason error
	}{
		{"forged signature", "s01", func(f *fixture, m *AdvertiseKeys) Message { m.Signature[0] ^= 1; return m }, ErrBadSignature},
		{"altered key", "s01", func(f *fixture, m *AdvertiseKeys) Message { m.MaskDHKey[3] ^= 1; return m }, ErrBadSignature},
		{"swapped ID", "s02", func(f *fixture, m *AdvertiseKeys) Message { return m }, ErrIDMismatch},
		{"unknown site", "zz", func(f *fixture, m *AdvertiseKeys) Message { return m }, ErrUnknownSite},
		{"low-order key", "s01", func(f *fixture, m *AdvertiseKeys) Message {
			m.MaskDHKey = slices.Clone(lowOrderPoint)
			f.resign(m)
			return m
		}, ErrLowOrderKey},
		{"zero key", "s01", func(f *fixture, m *AdvertiseKeys) Message {
			m.MaskDHKey = make([]byte, 32)
			f.resign(m)
			return m
		}, ErrLowOrderKey},
		{"identity not bound", "s01", func(f *fixture, m *AdvertiseKeys) Message {
			m.IdentityKey = f.keys["s02"].Public().(ed25519.PublicKey)
			m.Signature, _ = sign(f.keys["s02"], m.signed())
			return m
		}, ErrIdentity},
		{"earlier round", "s01", func(f *fixture, _ *AdvertiseKeys) Message { return other(f, "job", 2) }, ErrReplay},
		{"other session", "s01", func(f *fixture, _ *AdvertiseKeys) Message { return other(f, "job-b", 3) }, ErrWrongContext},
		{"wrong phase", "s01", func(f *fixture, m *AdvertiseKeys) Message {
			return &ShareKeys{Header: m.Header, From: "s01"}
		}, ErrPhase},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 4)
			adv := f.advertise()
			err := f.srv.Handle(tc.from, tc.mutate(f, clone(t, adv["s01"]).(*AdvertiseKeys)))
			wantRefusal(t, err, tc.reason)
			// The refusal changed nothing: the genuine message still goes in.
			if err := f.srv.Handle("s01", adv["s01"]); err != nil && tc.reason != ErrIDMismatch {
				t.Fatalf("genuine message refused after the bad one: %v", err)
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		f := newFixture(t, 4)
		adv := f.advertise()
		f.send(adv)
		wantRefusal(t, f.srv.Handle("s01", adv["s01"]), ErrReplay)
	})
}

func TestAggregatorRefusesShareKeys(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *fixture, m *ShareKeys)
		reason error
	}{
		{"forged", func(f *fixture, m *ShareKeys) { m.Entries[0].Sealed[0] ^= 1 }, ErrBadSignature},
		{"duplicate share entry", func(f *fixture, m *ShareKeys) {
			m.Entries = append(m.Entries, m.Entries[0])
			f.resign(m)
		}, ErrDuplicateShare},
		{"swapped entry sender", func(f *fixture, m *ShareKeys) {
			m.Entries[0].From = "s03"
			f.resign(m)
		}, ErrIDMismatch},
		{"missing entry", func(f *fixture, m *ShareKeys) {
			m.Entries = m.Entries[1:]
			f.resign(m)
		}, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 4)
			_, sk := f.step(f.advertise())
			m := clone(t, sk["s01"]).(*ShareKeys)
			tc.mutate(f, m)
			wantRefusal(t, f.srv.Handle("s01", m), tc.reason)
		})
	}
}

// toMaskedInput runs a fixture up to the masked inputs.
func toMaskedInput(f *fixture) (relays Outbox, masked map[string]Message) {
	_, sk := f.step(f.advertise())
	return f.step(sk)
}

func TestAggregatorRefusesMaskedAndUnmask(t *testing.T) {
	f := newFixture(t, 4)
	_, masked := toMaskedInput(f)
	m := clone(t, masked["s01"]).(*MaskedInput)
	// The masked input is unsigned: the transport names its sender, and
	// the sender field, the round binding and the length are checked.
	wantRefusal(t, f.srv.Handle("s02", m), ErrIDMismatch)
	other := clone(t, m).(*MaskedInput)
	other.Round++
	wantRefusal(t, f.srv.Handle("s01", other), ErrReplay)
	other = clone(t, m).(*MaskedInput)
	other.Context[0] ^= 1
	wantRefusal(t, f.srv.Handle("s01", other), ErrWrongContext)
	short := &MaskedInput{Header: m.Header, From: "s01", Data: m.Data[:3]}
	wantRefusal(t, f.srv.Handle("s01", short), ErrMalformed)
	if err := f.srv.Handle("s01", m); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, f.srv.Handle("s01", m), ErrReplay)
	delete(masked, "s01")
	_, sigs := f.step(masked)
	_, unmask := f.step(sigs)
	u := unmask["s01"].(*UnmaskShares)
	dup := &UnmaskShares{Header: u.Header, From: u.From, SelfShares: append(slices.Clone(u.SelfShares), u.SelfShares[0])}
	f.resign(dup)
	wantRefusal(t, f.srv.Handle("s01", dup), ErrDuplicateShare)
	bad := &UnmaskShares{Header: u.Header, From: u.From, SelfShares: slices.Clone(u.SelfShares)}
	bad.SelfShares[1] = RevealedShare{Owner: bad.SelfShares[1].Owner, Value: scalarBytes(ristretto.NewScalar().SetUint64(5))}
	f.resign(bad)
	wantRefusal(t, f.srv.Handle("s01", bad), ErrBadShare)
	f.send(unmask)
	if _, err := f.srv.Advance(); err != nil {
		t.Fatalf("round with refused extras failed: %v", err)
	}
}

func TestSiteRefusesRelay(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *fixture, r *ShareKeysRelay, box Outbox) Message
		reason error
	}{
		{"forged entry", func(f *fixture, r *ShareKeysRelay, _ Outbox) Message {
			r.Entries[0].MaskShareCommit[0] ^= 1
			return r
		}, ErrBadSignature},
		{"swapped entries", func(f *fixture, r *ShareKeysRelay, box Outbox) Message {
			r.Entries[0] = box["s02"].(*ShareKeysRelay).Entries[0]
			return r
		}, ErrIDMismatch},
		{"relay for another site", func(f *fixture, r *ShareKeysRelay, box Outbox) Message {
			return box["s02"]
		}, ErrIDMismatch},
		{"duplicate entry", func(f *fixture, r *ShareKeysRelay, _ Outbox) Message {
			r.Entries = append(r.Entries, r.Entries[0])
			return r
		}, ErrDuplicateShare},
		{"earlier round", func(f *fixture, r *ShareKeysRelay, _ Outbox) Message {
			r.Round = 2
			return r
		}, ErrReplay},
		{"other context", func(f *fixture, r *ShareKeysRelay, _ Outbox) Message {
			r.Context[0] ^= 1
			return r
		}, ErrWrongContext},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 4)
			_, sk := f.step(f.advertise())
			f.send(sk)
			box := f.advance()
			orig := box["s01"].(*ShareKeysRelay)
			_, err := f.cl["s01"].Handle(tc.mutate(f, clone(t, orig).(*ShareKeysRelay), box))
			wantRefusal(t, err, tc.reason)
			if _, err := f.cl["s01"].Handle(orig); err != nil {
				t.Fatalf("genuine relay refused after the bad one: %v", err)
			}
			_, err = f.cl["s01"].Handle(orig)
			wantRefusal(t, err, ErrReplay)
		})
	}
}

func TestSiteRefusesLowOrderPeerKey(t *testing.T) {
	f := newFixture(t, 4)
	adv := f.advertise()
	f.send(adv)
	box := f.advance()
	set := box["s01"].(*AdvertiseSet)
	cp := &AdvertiseSet{Header: set.Header}
	for _, k := range set.Keys {
		kc := *k
		if k.From == "s02" {
			kc.MaskDHKey = slices.Clone(lowOrderPoint)
			f.resign(&kc)
		}
		cp.Keys = append(cp.Keys, &kc)
	}
	_, err := f.cl["s01"].Handle(cp)
	wantRefusal(t, err, ErrLowOrderKey)
}

// toUnmask runs a fixture up to the unmask requests, with s00 dropped
// before its masked input (so the requests ask for its mask-key shares).
func toUnmask(t *testing.T) (*fixture, Outbox) {
	f := newFixture(t, 4)
	_, sk := f.step(f.advertise())
	_, masked := f.step(sk)
	delete(masked, "s00")
	f.send(masked)
	box := f.advance()
	delete(box, "s00")
	sigs := f.reply(box)
	f.send(sigs)
	return f, f.advance()
}

func TestSiteRefusesBothShares(t *testing.T) {
	t.Run("in one request", func(t *testing.T) {
		f, box := toUnmask(t)
		req := *box["s01"].(*UnmaskRequest)
		req.Dropped = append(slices.Clone(req.Dropped), "s02")
		_, err := f.cl["s01"].Handle(&req)
		wantRefusal(t, err, ErrBothShares)
	})
	t.Run("across requests", func(t *testing.T) {
		f, box := toUnmask(t)
		req := box["s01"].(*UnmaskRequest)
		reply, err := f.cl["s01"].Handle(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(reply.(*UnmaskShares).MaskShares) != 1 {
			t.Fatalf("reply reveals %d mask-key shares, want 1 (of s00)", len(reply.(*UnmaskShares).MaskShares))
		}
		// The same request again gets the same answer.
		again, err := f.cl["s01"].Handle(req)
		if err != nil || again != reply {
			t.Fatalf("repeated request: %v", err)
		}
		// Now s00 is presented as a survivor: its self-mask share is asked.
		second := &UnmaskRequest{Header: req.Header, Survivors: []string{"s00", "s01", "s02", "s03"}, Signatures: req.Signatures}
		_, err = f.cl["s01"].Handle(second)
		wantRefusal(t, err, ErrBothShares)
	})
}

func TestConsistencyCheckCatchesDifferentLists(t *testing.T) {
	f := newFixture(t, 4)
	_, sk := f.step(f.advertise())
	_, masked := f.step(sk)
	f.send(masked)
	box := f.advance()
	// A lying aggregator shows s03 a list without s00.
	box["s03"] = &ConsistencyRequest{Header: f.ctx.header(), Survivors: []string{"s01", "s02", "s03"}}
	sigs := f.reply(box)
	wantRefusal(t, f.srv.Handle("s03", sigs["s03"]), ErrInconsistentView)
	var all []*ConsistencySig
	for _, id := range f.ctx.Roster {
		all = append(all, sigs[id].(*ConsistencySig))
	}
	req := &UnmaskRequest{Header: f.ctx.header(), Survivors: f.ctx.Roster, Signatures: all}
	_, err := f.cl["s01"].Handle(req)
	wantRefusal(t, err, ErrInconsistentView)
	if re := err.(*RefusalError); re.Site != "s03" {
		t.Fatalf("refusal names %q, want s03", re.Site)
	}
	// Showing s01 a second, different list is caught as well.
	_, err = f.cl["s01"].Handle(box["s03"])
	wantRefusal(t, err, ErrInconsistentView)
}

func TestRecoverNeedsThresholdAndRejectsCorruptShares(t *testing.T) {
	secret, _ := randScalar(bytes.NewReader(make([]byte, 64)))
	shares := splitSecret(nil, secret, 3, []int{0, 1, 2, 3, 4})
	two := map[int][]byte{0: shares[0], 1: shares[1]}
	if _, err := recoverSecret(3, two, nil); err == nil {
		t.Fatal("recovered from 2 shares with threshold 3")
	}
	three := map[int][]byte{0: shares[0], 2: shares[2], 4: shares[4]}
	got, err := recoverSecret(3, three, nil)
	if err != nil || !got.IsEqual(secret) {
		t.Fatalf("recover from 3 shares: %v", err)
	}
	// circl's Recover silently returns a wrong secret from a corrupt share:
	// this is why every share is checked against its commitment first.
	bad := slices.Clone(shares[2])
	bad[0] ^= 1
	wrong, err := recoverSecret(3, map[int][]byte{0: shares[0], 2: bad, 4: shares[4]}, nil)
	if err == nil && wrong.IsEqual(secret) {
		t.Fatal("corrupt share recovered the right secret; the commitment check would be untested")
	}
}

func TestAbortAndRepeatedRelay(t *testing.T) {
	f := newFixture(t, 3)
	_, sk := f.step(f.advertise())
	f.send(sk)
	f.advance()
	if err := f.srv.Abort("job cancelled"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Result(); !errors.Is(err, ErrAborted) {
		t.Fatalf("result after abort: %v", err)
	}
	wantRefusal(t, f.srv.Handle("s00", &MaskedInput{Header: f.ctx.header(), From: "s00"}), ErrAborted)
	if _, err := f.srv.Advance(); !errors.Is(err, ErrAborted) {
		t.Fatalf("advance after abort: %v", err)
	}
}

func TestRelayBeforeInputThenReplay(t *testing.T) {
	f := newFixture(t, 3)
	// Give s01 no input: replace it with a fresh client.
	c, _ := NewClient(ClientConfig{Context: f.ctx, Self: "s01", Identity: f.keys["s01"], VerifyIdentity: f.verify})
	f.cl["s01"] = c
	_, sk := f.step(f.advertise())
	f.send(sk)
	box := f.advance()
	if m, err := c.Handle(box["s01"]); err != nil || m != nil {
		t.Fatalf("relay before input: %v %v, want nothing to send", m, err)
	}
	_, err := c.Handle(box["s01"])
	wantRefusal(t, err, ErrReplay)
	mi, err := c.SetInput(Input{Values: make([]float32, f.ctx.Params.Length), Weight: 1})
	if err != nil || mi == nil {
		t.Fatalf("late input: %v %v", mi, err)
	}
}
