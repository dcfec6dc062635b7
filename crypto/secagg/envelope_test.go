package secagg

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// testSpec returns a valid round spec for a 3-site round.
func testSpec(t testing.TB) *RoundSpec {
	t.Helper()
	p, err := DefaultConfig().Params(3, 8)
	if err != nil {
		t.Fatal(err)
	}
	return &RoundSpec{Version: 1, Context: Context{Session: "job/a0/00", Round: 2, Roster: []string{"a", "b", "c"}, Params: p},
		Job: "job", RoundsLeft: 3, NormBound: 5, Privacy: PrivacySpec{Enabled: true, ClipNorm: 1, NoiseMultiplier: 1.1}}
}

func TestRoundSpecRoundTripAndChecks(t *testing.T) {
	good := testSpec(t)
	b, _ := good.MarshalBinary()
	got, err := DecodeRoundSpec(b)
	if err != nil || got.Context.Hash() != good.Context.Hash() || got.Privacy != good.Privacy {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	cases := []struct {
		name string
		edit func(*RoundSpec)
	}{
		{"version", func(s *RoundSpec) { s.Version = 2 }},
		{"unsorted roster", func(s *RoundSpec) { s.Context.Roster = []string{"b", "a", "c"} }},
		{"threshold too low", func(s *RoundSpec) { s.Context.Params.Threshold = 1 }},
		{"no job", func(s *RoundSpec) { s.Job = "" }},
		{"no rounds left", func(s *RoundSpec) { s.RoundsLeft = 0 }},
		{"negative norm bound", func(s *RoundSpec) { s.NormBound = -1 }},
		{"zero noise", func(s *RoundSpec) { s.Privacy.NoiseMultiplier = 0 }},
	}
	for _, c := range cases {
		s := *testSpec(t)
		c.edit(&s)
		b, _ := s.MarshalBinary()
		if _, err := DecodeRoundSpec(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", c.name, err)
		}
	}
	for _, b := range [][]byte{[]byte(`{"version":1,"extra":1}`), append(b, []byte(`{}`)...), []byte(`{"norm_bound":NaN}`)} {
		if _, err := DecodeRoundSpec(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", b, err)
		}
	}
}

func TestDecodeTypedRefusesAMislabelledMessage(t *testing.T) {
	f := newFixture(t, 3)
	for _, m := range f.advertise() {
		b, _ := m.MarshalBinary()
		if _, err := DecodeTyped(TypeURL(TypeAdvertiseKeys.String()), b); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeTyped(TypeURL(TypeMaskedInput.String()), b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("mislabelled: %v", err)
		}
		if _, err := DecodeTyped("type.googleapis.com/google.protobuf.Empty", b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("foreign type URL: %v", err)
		}
		break
	}
}

func TestPartsJoinInOrderOnly(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 10)
	parts := SplitPayload("MaskedInput", payload, 32)
	if len(parts) != 4 {
		t.Fatalf("%d parts, want 4", len(parts))
	}
	enc := func(p *Part) *Part {
		b, _ := p.MarshalBinary()
		d, err := DecodePart(b)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := NewAssembler(1000)
	for i, p := range parts {
		kind, whole, err := a.Add("s", enc(p))
		if err != nil || (i < 3) != (whole == nil) {
			t.Fatalf("part %d: %v %v", i, whole == nil, err)
		}
		if i == 3 && (kind != "MaskedInput" || !bytes.Equal(whole, payload)) {
			t.Fatal("joined payload differs")
		}
	}
	cases := []struct {
		name  string
		seq   []*Part
		limit int
	}{
		{"out of order", []*Part{parts[0], parts[2]}, 1000},
		{"no start", []*Part{parts[1]}, 1000},
		{"over the limit", []*Part{parts[0]}, 50},
		{"other kind midway", []*Part{parts[0], {Kind: "X", Index: 1, Count: 4, Total: 100, Data: parts[1].Data}}, 1000},
		{"longer than announced", []*Part{parts[0], parts[1], parts[2], {Kind: "MaskedInput", Index: 3, Count: 4, Total: 100, Data: make([]byte, 10)}}, 1000},
	}
	for _, c := range cases {
		a := NewAssembler(c.limit)
		var err error
		for _, p := range c.seq {
			if _, _, err = a.Add("s", p); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrMalformed) || a.Pending() != 0 {
			t.Errorf("%s: %v (pending %d), want ErrMalformed and nothing kept", c.name, err, a.Pending())
		}
	}
}

func TestRefusalRoundTrip(t *testing.T) {
	b, _ := (&Refusal{Reason: "privacy_budget", Detail: "epsilon"}).MarshalBinary()
	if f, err := DecodeRefusal(b); err != nil || f.Reason != "privacy_budget" {
		t.Fatalf("%v %+v", err, f)
	}
	if _, err := DecodeRefusal([]byte(`{"detail":"no reason"}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("refusal without reason: %v", err)
	}
}

// FuzzDecodeRoundSpec: never panics; an accepted spec re-encodes to one
// that decodes to the same context.
func FuzzDecodeRoundSpec(f *testing.F) {
	b, _ := testSpec(f).MarshalBinary()
	f.Add(b)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeRoundSpec(b)
		if err != nil {
			return
		}
		again, _ := s.MarshalBinary()
		s2, err := DecodeRoundSpec(again)
		if err != nil || s2.Context.Hash() != s.Context.Hash() || math.IsNaN(s2.NormBound) {
			t.Fatalf("re-decoding an accepted spec: %v", err)
		}
	})
}

// FuzzDecodeInputRequest: never panics; accepted requests re-encode
// identically.
func FuzzDecodeInputRequest(f *testing.F) {
	for _, b := range seedMessages(f)[TypeShareKeysRelay] {
		m, _ := DecodeShareKeysRelay(b)
		q, _ := (&InputRequest{Relay: m, Train: []byte{1, 2, 3}}).MarshalBinary()
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeInputRequest(b)
		if err != nil {
			return
		}
		if again, _ := q.MarshalBinary(); !bytes.Equal(again, b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

// FuzzDecodePart: never panics; accepted parts re-encode identically and
// an Assembler never keeps more than its limit.
func FuzzDecodePart(f *testing.F) {
	for _, p := range SplitPayload("MaskedInput", []byte("some payload bytes"), 5) {
		b, _ := p.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePart(b)
		if err != nil {
			return
		}
		if again, _ := p.MarshalBinary(); !bytes.Equal(again, b) {
			t.Fatal("decode/encode is not the identity")
		}
		a := NewAssembler(64)
		if _, whole, err := a.Add("s", p); err == nil && len(whole) > 64 {
			t.Fatalf("joined %d bytes over the limit", len(whole))
		}
	})
}

// FuzzDecodeRefusal: never panics; accepted refusals have a short reason.
func FuzzDecodeRefusal(f *testing.F) {
	f.Add([]byte(`{"reason":"privacy_budget","detail":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRefusal(b)
		if err == nil && (r.Reason == "" || len(r.Reason) > 64) {
			t.Fatalf("accepted reason %q", r.Reason)
		}
	})
}
