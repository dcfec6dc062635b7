package secagg

import (
	"bytes"
	"sync"
	"testing"
)

var (
	seedMu    sync.Mutex
	seedCache map[MessageType][][]byte
)

// seedMessages runs one small round (once per process) and returns every
// message by type, as fuzzing seeds.
func seedMessages(tb testing.TB) map[MessageType][][]byte {
	seedMu.Lock()
	defer seedMu.Unlock()
	if seedCache == nil {
		seedCache = recordRound(tb)
	}
	return seedCache
}

// recordRound plays a 3-site round and records each message's encoding.
func recordRound(tb testing.TB) map[MessageType][][]byte {
	out := map[MessageType][][]byte{}
	f := newFixture(tb, 3)
	add := func(ms ...Message) {
		for _, m := range ms {
			b, _ := m.MarshalBinary()
			out[m.Type()] = append(out[m.Type()], b)
		}
	}
	collect := func(msgs map[string]Message) map[string]Message {
		for _, m := range msgs {
			add(m)
		}
		return msgs
	}
	box, sk := f.step(collect(f.advertise()))
	addBox := func(box Outbox) {
		for _, m := range box {
			add(m)
		}
	}
	addBox(box)
	box, masked := f.step(collect(sk))
	addBox(box)
	box, sigs := f.step(collect(masked))
	addBox(box)
	box, unmask := f.step(collect(sigs))
	addBox(box)
	collect(unmask)
	return out
}

// fuzzDecoder checks that a decoder never panics, and that whatever it
// accepts re-encodes to exactly the same bytes.
func fuzzDecoder[M Message](f *testing.F, t MessageType, decode func([]byte) (M, error)) {
	for _, b := range seedMessages(f)[t] {
		f.Add(b)
	}
	f.Add(append([]byte(wireMagic), wireVersion))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding a decoded message: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decode/encode is not the identity: %d bytes in, %d out", len(b), len(again))
		}
	})
}

func FuzzDecodeAdvertiseKeys(f *testing.F) {
	fuzzDecoder(f, TypeAdvertiseKeys, DecodeAdvertiseKeys)
}

func FuzzDecodeAdvertiseSet(f *testing.F) { fuzzDecoder(f, TypeAdvertiseSet, DecodeAdvertiseSet) }

func FuzzDecodeShareKeys(f *testing.F) { fuzzDecoder(f, TypeShareKeys, DecodeShareKeys) }

func FuzzDecodeShareKeysRelay(f *testing.F) {
	fuzzDecoder(f, TypeShareKeysRelay, DecodeShareKeysRelay)
}

func FuzzDecodeMaskedInput(f *testing.F) { fuzzDecoder(f, TypeMaskedInput, DecodeMaskedInput) }

func FuzzDecodeConsistencyRequest(f *testing.F) {
	fuzzDecoder(f, TypeConsistencyRequest, DecodeConsistencyRequest)
}

func FuzzDecodeConsistencySig(f *testing.F) {
	fuzzDecoder(f, TypeConsistencySig, DecodeConsistencySig)
}

func FuzzDecodeUnmaskRequest(f *testing.F) {
	fuzzDecoder(f, TypeUnmaskRequest, DecodeUnmaskRequest)
}

func FuzzDecodeUnmaskShares(f *testing.F) {
	fuzzDecoder(f, TypeUnmaskShares, DecodeUnmaskShares)
}

// FuzzDecode covers the type dispatch of Decode.
func FuzzDecode(f *testing.F) {
	for _, bs := range seedMessages(f) {
		for _, b := range bs {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if again, _ := m.MarshalBinary(); !bytes.Equal(again, b) {
			t.Fatalf("%s: decode/encode is not the identity", m.Type())
		}
	})
}
