package secagg

import (
	"crypto/ed25519"
	"fmt"
)

// MessageType tags each message kind on the wire.
type MessageType uint8

// The message kinds, in protocol order. "Site" messages are sent by a site
// to the aggregator; "aggregator" messages the other way.
const (
	// TypeAdvertiseKeys (site): the site's signed public keys.
	TypeAdvertiseKeys MessageType = iota + 1
	// TypeAdvertiseSet (aggregator): the key bundles of the site's peers.
	TypeAdvertiseSet
	// TypeShareKeys (site): encrypted shares for every peer.
	TypeShareKeys
	// TypeShareKeysRelay (aggregator): the entries addressed to one site.
	TypeShareKeysRelay
	// TypeMaskedInput (site): the masked update.
	TypeMaskedInput
	// TypeConsistencyRequest (aggregator): the list of masked-input senders.
	TypeConsistencyRequest
	// TypeConsistencySig (site): the site's signature on that list.
	TypeConsistencySig
	// TypeUnmaskRequest (aggregator): survivors, dropouts and signatures.
	TypeUnmaskRequest
	// TypeUnmaskShares (site): the shares that remove the masks.
	TypeUnmaskShares
)

// String names the message type.
func (t MessageType) String() string {
	names := [...]string{"", "AdvertiseKeys", "AdvertiseSet", "ShareKeys", "ShareKeysRelay",
		"MaskedInput", "ConsistencyRequest", "ConsistencySig", "UnmaskRequest", "UnmaskShares"}
	if int(t) < len(names) && t != 0 {
		return names[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Header binds a message to its round. Context is the receiver-checkable
// Context.Hash; Session and Round are repeated in clear so that a refusal
// can say which round a stray message belonged to.
type Header struct {
	Session string
	Round   uint64
	Context [32]byte
}

// Message is implemented by every protocol message. The protocol layer
// carries MarshalBinary's bytes as an opaque payload tagged with Type and
// decodes them with Decode (or the typed DecodeXxx).
type Message interface {
	// Type returns the message kind.
	Type() MessageType
	// MarshalBinary returns the versioned binary encoding.
	MarshalBinary() ([]byte, error)
	header() *Header
}

// HeaderOf returns the header of a message.
func HeaderOf(m Message) Header { return *m.header() }

// AdvertiseKeys is a site's signed key bundle for one round: a channel key
// (HPKE X-Wing) on which peers encrypt its shares, and the X25519 and
// ML-KEM-768 public keys from which pair mask keys are agreed.
type AdvertiseKeys struct {
	Header
	// From is the site ID.
	From string
	// IdentityKey is the site's long-term Ed25519 key that signs its
	// messages; the verifier hook binds it to the site (certificate).
	IdentityKey ed25519.PublicKey
	// Certificate optionally carries the site's DER certificate for the hook.
	Certificate []byte
	// ChannelKey is the X-Wing public key for share encryption.
	ChannelKey []byte
	// MaskDHKey is the X25519 public key of the pair mask agreement.
	MaskDHKey []byte
	// MaskKEMKey is the ML-KEM-768 public key of the pair mask agreement.
	MaskKEMKey []byte
	// Signature is the identity key's signature over all the above.
	Signature []byte
}

// AdvertiseSet relays the key bundles the aggregator accepted (the site's
// neighbours and itself under SecAgg+).
type AdvertiseSet struct {
	Header
	Keys []*AdvertiseKeys
}

// ShareEntry carries one site's shares for one peer: encrypted to the
// peer's channel key, with commitments to each share (so that a bad share is
// caught before reconstruction), the ML-KEM ciphertext of the pair when the
// sender has the lower roster index, and the sender's signature.
type ShareEntry struct {
	From, To string
	// MaskShareCommit and SelfShareCommit commit to the two shares.
	MaskShareCommit [32]byte
	SelfShareCommit [32]byte
	// KEMCiphertext is the ML-KEM-768 encapsulation to To (empty when To
	// has the lower index and encapsulates instead).
	KEMCiphertext []byte
	// Encapsulation and Sealed are the HPKE output holding the shares.
	Encapsulation []byte
	Sealed        []byte
	// Signature is From's signature over the entry and the round header.
	Signature []byte
}

// ShareKeys is a site's share distribution: one entry per peer, a
// commitment to its self-mask secret, and a commitment to the share of that
// secret the site keeps (and reveals at unmasking if it survives).
type ShareKeys struct {
	Header
	From           string
	SelfMaskCommit [32]byte
	OwnShareCommit [32]byte
	Entries        []*ShareEntry
	Signature      []byte
}

// ShareKeysRelay gives one site the entries addressed to it and the list of
// sites whose shares were accepted (U2).
type ShareKeysRelay struct {
	Header
	To        string
	Survivors []string
	Entries   []*ShareEntry
}

// MaskedInput is a site's encoded update plus its self mask and pair masks,
// Length+1 ring elements (the last is the pre-scaled weight). It is the one
// message not signed: only the aggregator receives it, over the
// authenticated transport that names its sender, and nothing of it is
// relayed to other sites, so a signature would protect nothing the
// transport does not, at the cost of a SHA-256 pass over the whole vector
// at both ends (40% of the aggregator's work at 50 sites). Its header still
// binds it to the round.
type MaskedInput struct {
	Header
	From string
	Data []uint32
}

// ConsistencyRequest lists the sites whose masked input arrived (U3).
type ConsistencyRequest struct {
	Header
	Survivors []string
}

// ConsistencySig is a site's signature on the survivor list it was sent.
type ConsistencySig struct {
	Header
	From string
	// ListDigest is the digest of the survivor list that was signed.
	ListDigest [32]byte
	Signature  []byte
}

// UnmaskRequest asks for the unmasking shares: self-mask shares of the
// survivors, mask-key shares of the dropped sites. It carries the survivors'
// consistency signatures so that each site checks they all saw one list.
type UnmaskRequest struct {
	Header
	Survivors  []string
	Dropped    []string
	Signatures []*ConsistencySig
}

// RevealedShare is one share of Owner's secret.
type RevealedShare struct {
	Owner string
	Value []byte
}

// UnmaskShares carries a site's shares for the unmasking.
type UnmaskShares struct {
	Header
	From       string
	MaskShares []RevealedShare
	SelfShares []RevealedShare
	Signature  []byte
}

func (m *AdvertiseKeys) header() *Header      { return &m.Header }
func (m *AdvertiseSet) header() *Header       { return &m.Header }
func (m *ShareKeys) header() *Header          { return &m.Header }
func (m *ShareKeysRelay) header() *Header     { return &m.Header }
func (m *MaskedInput) header() *Header        { return &m.Header }
func (m *ConsistencyRequest) header() *Header { return &m.Header }
func (m *ConsistencySig) header() *Header     { return &m.Header }
func (m *UnmaskRequest) header() *Header      { return &m.Header }
func (m *UnmaskShares) header() *Header       { return &m.Header }

// Type returns TypeAdvertiseKeys.
func (*AdvertiseKeys) Type() MessageType { return TypeAdvertiseKeys }

// Type returns TypeAdvertiseSet.
func (*AdvertiseSet) Type() MessageType { return TypeAdvertiseSet }

// Type returns TypeShareKeys.
func (*ShareKeys) Type() MessageType { return TypeShareKeys }

// Type returns TypeShareKeysRelay.
func (*ShareKeysRelay) Type() MessageType { return TypeShareKeysRelay }

// Type returns TypeMaskedInput.
func (*MaskedInput) Type() MessageType { return TypeMaskedInput }

// Type returns TypeConsistencyRequest.
func (*ConsistencyRequest) Type() MessageType { return TypeConsistencyRequest }

// Type returns TypeConsistencySig.
func (*ConsistencySig) Type() MessageType { return TypeConsistencySig }

// Type returns TypeUnmaskRequest.
func (*UnmaskRequest) Type() MessageType { return TypeUnmaskRequest }

// Type returns TypeUnmaskShares.
func (*UnmaskShares) Type() MessageType { return TypeUnmaskShares }

// listDigest is the digest of a survivor list that ConsistencySig signs.
func listDigest(ctx [32]byte, list []string) [32]byte {
	parts := make([][]byte, 0, len(list)+1)
	parts = append(parts, ctx[:])
	for _, s := range list {
		parts = append(parts, []byte(s))
	}
	return hashParts("survivors", parts...)
}
