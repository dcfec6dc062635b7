package secagg

import (
	"fmt"

	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// Wire format: "SFSA", a version byte, the type byte, the header, the body
// fields and, for signed messages, a 64-byte Ed25519 signature. Integers are
// big-endian; byte strings and lists carry a uint32 length; ring vectors are
// little-endian words, zero-padded to start 4-byte aligned from the start of
// the message so that DecodeMaskedInput can use a received buffer in place
// (version 2; version 1 had no padding and a signed masked input).
const (
	wireMagic   = "SFSA"
	wireVersion = 2
	maxCertLen  = 16 << 10
	maxSealed   = 512
)

func writePrefix(w *wire.Writer, t MessageType, h *Header) {
	w.Fixed([]byte(wireMagic))
	w.U8(wireVersion)
	w.U8(uint8(t))
	w.String(h.Session)
	w.U64(h.Round)
	w.Fixed(h.Context[:])
}

func readPrefix(r *wire.Reader, t MessageType, h *Header) {
	if string(r.Fixed(4, "magic")) != wireMagic && r.Err() == nil {
		r.Failf("bad magic")
	}
	if v := r.U8("version"); v != wireVersion && r.Err() == nil {
		r.Failf("version %d, want %d", v, wireVersion)
	}
	if got := MessageType(r.U8("type")); got != t && r.Err() == nil {
		r.Failf("type %s, want %s", got, t)
	}
	h.Session = r.String(MaxSessionLen, "session")
	h.Round = r.U64("round")
	copy(h.Context[:], r.Fixed(32, "context"))
}

// Decode decodes any message by its type byte. A MaskedInput may alias b
// (see DecodeMaskedInput).
func Decode(b []byte) (Message, error) {
	if len(b) < 6 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	switch MessageType(b[5]) {
	case TypeAdvertiseKeys:
		return DecodeAdvertiseKeys(b)
	case TypeAdvertiseSet:
		return DecodeAdvertiseSet(b)
	case TypeShareKeys:
		return DecodeShareKeys(b)
	case TypeShareKeysRelay:
		return DecodeShareKeysRelay(b)
	case TypeMaskedInput:
		return DecodeMaskedInput(b)
	case TypeConsistencyRequest:
		return DecodeConsistencyRequest(b)
	case TypeConsistencySig:
		return DecodeConsistencySig(b)
	case TypeUnmaskRequest:
		return DecodeUnmaskRequest(b)
	case TypeUnmaskShares:
		return DecodeUnmaskShares(b)
	}
	return nil, fmt.Errorf("%w: unknown message type %d", ErrMalformed, b[5])
}

// --- AdvertiseKeys

func (m *AdvertiseKeys) body(w *wire.Writer) {
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.From)
	w.Blob(m.IdentityKey)
	w.Blob(m.Certificate)
	w.Blob(m.ChannelKey)
	w.Blob(m.MaskDHKey)
	w.Blob(m.MaskKEMKey)
}

func (m *AdvertiseKeys) signed() []byte {
	w := wire.NewWriter(2600 + len(m.Certificate))
	m.body(w)
	return w.Bytes()
}

// MarshalBinary encodes the message.
func (m *AdvertiseKeys) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(2700 + len(m.Certificate))
	m.body(w)
	w.Blob(m.Signature)
	return w.Bytes(), nil
}

// DecodeAdvertiseKeys decodes an AdvertiseKeys message.
func DecodeAdvertiseKeys(b []byte) (*AdvertiseKeys, error) {
	r := wire.NewReader(b)
	m := &AdvertiseKeys{}
	readPrefix(r, m.Type(), &m.Header)
	m.From = r.String(MaxIDLen, "from")
	m.IdentityKey = r.Blob(identitySize, "identity key")
	m.Certificate = r.Blob(maxCertLen, "certificate")
	m.ChannelKey = r.Blob(channelKeySize, "channel key")
	m.MaskDHKey = r.Blob(dhKeySize, "x25519 key")
	m.MaskKEMKey = r.Blob(kemKeySize, "ml-kem key")
	m.Signature = r.Blob(sigSize, "signature")
	return m, r.Done()
}

// --- AdvertiseSet

// MarshalBinary encodes the message.
func (m *AdvertiseSet) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(64 + 2700*len(m.Keys))
	writePrefix(w, m.Type(), &m.Header)
	w.U32(uint32(len(m.Keys)))
	for _, k := range m.Keys {
		b, _ := k.MarshalBinary()
		w.Blob(b)
	}
	return w.Bytes(), nil
}

// DecodeAdvertiseSet decodes an AdvertiseSet message.
func DecodeAdvertiseSet(b []byte) (*AdvertiseSet, error) {
	r := wire.NewReader(b)
	m := &AdvertiseSet{}
	readPrefix(r, m.Type(), &m.Header)
	n := r.Count(MaxSites, "keys")
	for i := 0; i < n && r.Err() == nil; i++ {
		kb := r.Blob(4096+maxCertLen, "key bundle")
		if r.Err() != nil {
			break
		}
		k, err := DecodeAdvertiseKeys(kb)
		if err != nil {
			return nil, fmt.Errorf("key bundle %d: %w", i, err)
		}
		m.Keys = append(m.Keys, k)
	}
	return m, r.Done()
}

// --- ShareEntry (inside ShareKeys and ShareKeysRelay)

func (e *ShareEntry) body(w *wire.Writer) {
	w.String(e.From)
	w.String(e.To)
	w.Fixed(e.MaskShareCommit[:])
	w.Fixed(e.SelfShareCommit[:])
	w.Blob(e.KEMCiphertext)
	w.Blob(e.Encapsulation)
	w.Blob(e.Sealed)
}

// signed returns the bytes the entry's signature covers: the round header
// of the message it travels in and the entry fields.
func (e *ShareEntry) signed(h *Header) []byte {
	w := wire.NewWriter(2400)
	w.Fixed([]byte(domain + " share-entry"))
	w.String(h.Session)
	w.U64(h.Round)
	w.Fixed(h.Context[:])
	e.body(w)
	return w.Bytes()
}

func writeEntries(w *wire.Writer, es []*ShareEntry) {
	w.U32(uint32(len(es)))
	for _, e := range es {
		e.body(w)
		w.Blob(e.Signature)
	}
}

func readEntries(r *wire.Reader) []*ShareEntry {
	n := r.Count(MaxSites, "entries")
	var out []*ShareEntry
	for i := 0; i < n && r.Err() == nil; i++ {
		e := &ShareEntry{}
		e.From = r.String(MaxIDLen, "entry from")
		e.To = r.String(MaxIDLen, "entry to")
		copy(e.MaskShareCommit[:], r.Fixed(32, "mask share commitment"))
		copy(e.SelfShareCommit[:], r.Fixed(32, "self share commitment"))
		e.KEMCiphertext = r.Blob(kemCTSize, "ml-kem ciphertext")
		e.Encapsulation = r.Blob(channelEncSize, "hpke encapsulation")
		e.Sealed = r.Blob(maxSealed, "sealed shares")
		e.Signature = r.Blob(sigSize, "entry signature")
		out = append(out, e)
	}
	return out
}

// --- ShareKeys

func (m *ShareKeys) body(w *wire.Writer) {
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.From)
	w.Fixed(m.SelfMaskCommit[:])
	w.Fixed(m.OwnShareCommit[:])
	writeEntries(w, m.Entries)
}

func (m *ShareKeys) signed() []byte {
	w := wire.NewWriter(128 + 2500*len(m.Entries))
	m.body(w)
	return w.Bytes()
}

// MarshalBinary encodes the message.
func (m *ShareKeys) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(200 + 2500*len(m.Entries))
	m.body(w)
	w.Blob(m.Signature)
	return w.Bytes(), nil
}

// DecodeShareKeys decodes a ShareKeys message.
func DecodeShareKeys(b []byte) (*ShareKeys, error) {
	r := wire.NewReader(b)
	m := &ShareKeys{}
	readPrefix(r, m.Type(), &m.Header)
	m.From = r.String(MaxIDLen, "from")
	copy(m.SelfMaskCommit[:], r.Fixed(32, "self mask commitment"))
	copy(m.OwnShareCommit[:], r.Fixed(32, "own share commitment"))
	m.Entries = readEntries(r)
	m.Signature = r.Blob(sigSize, "signature")
	return m, r.Done()
}

// --- ShareKeysRelay

// MarshalBinary encodes the message.
func (m *ShareKeysRelay) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(200 + 16*len(m.Survivors) + 2500*len(m.Entries))
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.To)
	w.Strings(m.Survivors)
	writeEntries(w, m.Entries)
	return w.Bytes(), nil
}

// DecodeShareKeysRelay decodes a ShareKeysRelay message.
func DecodeShareKeysRelay(b []byte) (*ShareKeysRelay, error) {
	r := wire.NewReader(b)
	m := &ShareKeysRelay{}
	readPrefix(r, m.Type(), &m.Header)
	m.To = r.String(MaxIDLen, "to")
	m.Survivors = r.Strings(MaxSites, MaxIDLen, "survivors")
	m.Entries = readEntries(r)
	return m, r.Done()
}

// --- MaskedInput

// MarshalBinary encodes the message.
func (m *MaskedInput) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(200 + 4*len(m.Data))
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.From)
	w.U32s(m.Data)
	return w.Bytes(), nil
}

// DecodeMaskedInput decodes a MaskedInput message. Its Data may alias b
// (see wire.Reader.U32s): b must not be reused while the message is in use.
func DecodeMaskedInput(b []byte) (*MaskedInput, error) {
	r := wire.NewReader(b)
	m := &MaskedInput{}
	readPrefix(r, m.Type(), &m.Header)
	m.From = r.String(MaxIDLen, "from")
	m.Data = r.U32s(MaxLength, "data")
	return m, r.Done()
}

// --- ConsistencyRequest

// MarshalBinary encodes the message.
func (m *ConsistencyRequest) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(100 + 16*len(m.Survivors))
	writePrefix(w, m.Type(), &m.Header)
	w.Strings(m.Survivors)
	return w.Bytes(), nil
}

// DecodeConsistencyRequest decodes a ConsistencyRequest message.
func DecodeConsistencyRequest(b []byte) (*ConsistencyRequest, error) {
	r := wire.NewReader(b)
	m := &ConsistencyRequest{}
	readPrefix(r, m.Type(), &m.Header)
	m.Survivors = r.Strings(MaxSites, MaxIDLen, "survivors")
	return m, r.Done()
}

// --- ConsistencySig

func (m *ConsistencySig) signed() []byte {
	w := wire.NewWriter(160)
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.From)
	w.Fixed(m.ListDigest[:])
	return w.Bytes()
}

// MarshalBinary encodes the message.
func (m *ConsistencySig) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(240)
	w.Fixed(m.signed())
	w.Blob(m.Signature)
	return w.Bytes(), nil
}

// DecodeConsistencySig decodes a ConsistencySig message.
func DecodeConsistencySig(b []byte) (*ConsistencySig, error) {
	r := wire.NewReader(b)
	m := &ConsistencySig{}
	readPrefix(r, m.Type(), &m.Header)
	m.From = r.String(MaxIDLen, "from")
	copy(m.ListDigest[:], r.Fixed(32, "list digest"))
	m.Signature = r.Blob(sigSize, "signature")
	return m, r.Done()
}

// --- UnmaskRequest

// MarshalBinary encodes the message.
func (m *UnmaskRequest) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(100 + 16*len(m.Survivors) + 16*len(m.Dropped) + 300*len(m.Signatures))
	writePrefix(w, m.Type(), &m.Header)
	w.Strings(m.Survivors)
	w.Strings(m.Dropped)
	w.U32(uint32(len(m.Signatures)))
	for _, s := range m.Signatures {
		b, _ := s.MarshalBinary()
		w.Blob(b)
	}
	return w.Bytes(), nil
}

// DecodeUnmaskRequest decodes an UnmaskRequest message.
func DecodeUnmaskRequest(b []byte) (*UnmaskRequest, error) {
	r := wire.NewReader(b)
	m := &UnmaskRequest{}
	readPrefix(r, m.Type(), &m.Header)
	m.Survivors = r.Strings(MaxSites, MaxIDLen, "survivors")
	m.Dropped = r.Strings(MaxSites, MaxIDLen, "dropped")
	n := r.Count(MaxSites, "signatures")
	for i := 0; i < n && r.Err() == nil; i++ {
		sb := r.Blob(1024, "consistency signature")
		if r.Err() != nil {
			break
		}
		s, err := DecodeConsistencySig(sb)
		if err != nil {
			return nil, fmt.Errorf("consistency signature %d: %w", i, err)
		}
		m.Signatures = append(m.Signatures, s)
	}
	return m, r.Done()
}

// --- UnmaskShares

func writeRevealed(w *wire.Writer, rs []RevealedShare) {
	w.U32(uint32(len(rs)))
	for _, s := range rs {
		w.String(s.Owner)
		w.Blob(s.Value)
	}
}

func readRevealed(r *wire.Reader, what string) []RevealedShare {
	n := r.Count(MaxSites, what)
	var out []RevealedShare
	for i := 0; i < n && r.Err() == nil; i++ {
		out = append(out, RevealedShare{Owner: r.String(MaxIDLen, what+" owner"), Value: r.Blob(scalarSize, what+" value")})
	}
	return out
}

func (m *UnmaskShares) body(w *wire.Writer) {
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.From)
	writeRevealed(w, m.MaskShares)
	writeRevealed(w, m.SelfShares)
}

func (m *UnmaskShares) signed() []byte {
	w := wire.NewWriter(128 + 64*(len(m.MaskShares)+len(m.SelfShares)))
	m.body(w)
	return w.Bytes()
}

// MarshalBinary encodes the message.
func (m *UnmaskShares) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(200 + 64*(len(m.MaskShares)+len(m.SelfShares)))
	m.body(w)
	w.Blob(m.Signature)
	return w.Bytes(), nil
}

// DecodeUnmaskShares decodes an UnmaskShares message.
func DecodeUnmaskShares(b []byte) (*UnmaskShares, error) {
	r := wire.NewReader(b)
	m := &UnmaskShares{}
	readPrefix(r, m.Type(), &m.Header)
	m.From = r.String(MaxIDLen, "from")
	m.MaskShares = readRevealed(r, "mask shares")
	m.SelfShares = readRevealed(r, "self shares")
	m.Signature = r.Blob(sigSize, "signature")
	return m, r.Done()
}
