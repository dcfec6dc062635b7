package secagg

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x25519"
	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// Sizes of the public keys and ciphertexts carried in messages.
const (
	dhKeySize      = x25519.Size
	kemKeySize     = mlkem768.PublicKeySize
	kemCTSize      = mlkem768.CiphertextSize
	channelKeySize = 1216 // X-Wing public key
	channelEncSize = 1120 // X-Wing encapsulation
	scalarSize     = 32
	sigSize        = 64
	identitySize   = 32
)

// channelSuite encrypts shares between sites through the aggregator: HPKE
// base mode with X-Wing (X25519 + ML-KEM-768). Auth mode does not work with
// X-Wing, so every entry is signed with the sender's identity key instead.
var channelSuite = hpke.NewSuite(hpke.KEM_XWING, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES256GCM)

// channelKEM is the KEM of channelSuite, for key generation and parsing.
var channelKEM = hpke.KEM_XWING.Scheme()

// ristretto is the group whose scalar field holds the Shamir secrets.
var ristretto = group.Ristretto255

// randScalar draws a uniform scalar from rnd. (circl's Ristretto255
// RandomScalar ignores its reader, so the reader is hashed to a scalar.)
func randScalar(rnd io.Reader) (group.Scalar, error) {
	var buf [64]byte
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return nil, fmt.Errorf("secagg: reading randomness: %w", err)
	}
	return ristretto.HashToScalar(buf[:], []byte(domain+" scalar")), nil
}

// scalarBytes returns the canonical 32-byte encoding of s.
func scalarBytes(s group.Scalar) []byte {
	b, err := s.MarshalBinary()
	if err != nil {
		panic(err) // Ristretto scalars always marshal
	}
	return b
}

// derive expands secret material with HKDF-SHA256 under a label.
func derive(secret []byte, n int, label string, parts ...[]byte) []byte {
	w := wire.NewWriter(64)
	w.Fixed([]byte(domain + " " + label))
	for _, p := range parts {
		w.Blob(p)
	}
	out, err := hkdf.Key(sha256.New, secret, nil, string(w.Bytes()), n)
	if err != nil {
		panic(err) // only for n beyond 255*32
	}
	return out
}

// maskKeys are the key-agreement keys a site derives from its mask secret,
// so that the aggregator can rebuild them from t shares when it drops out.
type maskKeys struct {
	dhPriv, dhPub x25519.Key
	kemPriv       kem.PrivateKey
	kemPub        []byte
}

// deriveMaskKeys derives the X25519 and ML-KEM-768 key pairs from a mask
// secret. The ML-KEM seed is exactly 64 bytes (DeriveKeyPair panics on any
// other length).
func deriveMaskKeys(secret []byte) maskKeys {
	var k maskKeys
	copy(k.dhPriv[:], derive(secret, x25519.Size, "x25519"))
	x25519.KeyGen(&k.dhPub, &k.dhPriv)
	seed := derive(secret, mlkem768.KeySeedSize, "ml-kem-768")
	pub, priv := mlkem768.Scheme().DeriveKeyPair(seed)
	k.kemPriv = priv
	k.kemPub, _ = pub.MarshalBinary()
	return k
}

// encapSeed is the ML-KEM encapsulation randomness the lower-indexed site of
// a pair uses towards the higher one: derived from its mask secret so that
// the aggregator can redo the encapsulation after a dropout.
func encapSeed(secret []byte, ctx [32]byte, peer string) []byte {
	return derive(secret, mlkem768.EncapsulationSeedSize, "encap", ctx[:], []byte(peer))
}

// checkDHKey refuses a low-order or malformed X25519 public key: circl's
// Shared reports false for them (the shared secret would be all zeros).
func checkDHKey(pub []byte) error {
	if len(pub) != dhKeySize {
		return fmt.Errorf("x25519 key of %d bytes: %w", len(pub), ErrBadKey)
	}
	var probe, out, pk x25519.Key
	probe[0] = 9
	copy(pk[:], pub)
	if !x25519.Shared(&out, &probe, &pk) {
		return ErrLowOrderKey
	}
	return nil
}

// dhShared computes the X25519 secret and refuses a low-order peer key.
func dhShared(priv x25519.Key, pub []byte) ([]byte, error) {
	var pk, out x25519.Key
	copy(pk[:], pub)
	if !x25519.Shared(&out, &priv, &pk) {
		return nil, ErrLowOrderKey
	}
	return out[:], nil
}

// pairInput is everything that fixes the mask key of one pair of sites.
type pairInput struct {
	ctx        [32]byte
	low, high  string // site IDs, low has the smaller roster index
	dh         []byte // X25519 shared secret
	kemSS      []byte // ML-KEM-768 shared secret (low encapsulated to high)
	kemCT      []byte
	dhLow      []byte
	dhHigh     []byte
	kemPubHigh []byte
}

// pairKey combines the X25519 and ML-KEM-768 secrets into the pair's mask
// key: it stays secret as long as either problem stays hard, so a recorder
// with a future quantum computer learns nothing from X25519 alone.
func pairKey(in pairInput) MaskKey {
	secret := append(append([]byte(nil), in.dh...), in.kemSS...)
	th := sha256.New()
	for _, b := range [][]byte{in.dhLow, in.dhHigh, in.kemPubHigh, in.kemCT} {
		th.Write(b)
	}
	var k MaskKey
	copy(k[:], derive(secret, 32, "pair-mask", in.ctx[:], []byte(in.low), []byte(in.high), th.Sum(nil)))
	return k
}

// selfMaskKey expands the self-mask secret into its PRG seed.
func selfMaskKey(secret []byte, ctx [32]byte) MaskKey {
	var k MaskKey
	copy(k[:], derive(secret, 32, "self-mask", ctx[:]))
	return k
}

// secretCommit commits to a site's self-mask secret; it is published in
// ShareKeys and checked after reconstruction.
func secretCommit(ctx [32]byte, owner string, secret []byte) [32]byte {
	return hashParts("self-commit", ctx[:], []byte(owner), secret)
}

// Share kinds: the mask-key secret (revealed for dropped sites) and the
// self-mask secret (revealed for survivors).
const (
	kindMask byte = 'm'
	kindSelf byte = 'b'
)

// shareCommit commits to one share so that a bad share is identified
// before reconstruction (circl's Recover silently returns a wrong secret
// when one of its inputs is corrupt).
func shareCommit(ctx [32]byte, kind byte, owner, holder string, value []byte) [32]byte {
	return hashParts("share-commit", ctx[:], []byte{kind}, []byte(owner), []byte(holder), value)
}

// hashParts is SHA-256 over length-prefixed parts under a label.
func hashParts(label string, parts ...[]byte) [32]byte {
	w := wire.NewWriter(128)
	w.Fixed([]byte(domain + " " + label))
	for _, p := range parts {
		w.Blob(p)
	}
	return sha256.Sum256(w.Bytes())
}
