package secagg

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"fmt"

	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// IdentityVerifier binds a long-term Ed25519 identity key to a site ID; it
// returns nil to accept. certDER is the certificate the site advertised (it
// may be empty). crypto/pki's Verifier.VerifySiteKey is one: it checks the
// certificate chains to the consortium CA, is not revoked, names the site
// in its URI SAN and holds exactly this key.
type IdentityVerifier func(site string, key ed25519.PublicKey, certDER []byte) error

// PinnedKeys returns an IdentityVerifier that accepts exactly the given keys,
// for tests and simulations where the keys are distributed out of band.
func PinnedKeys(keys map[string]ed25519.PublicKey) IdentityVerifier {
	return func(site string, key ed25519.PublicKey, _ []byte) error {
		want, ok := keys[site]
		if !ok {
			return fmt.Errorf("no pinned key for site %q", site)
		}
		if !want.Equal(key) {
			return fmt.Errorf("key of site %q is not the pinned one", site)
		}
		return nil
	}
}

// sign signs msg under the package's signature domain.
func sign(s crypto.Signer, msg []byte) ([]byte, error) {
	return s.Sign(nil, append([]byte(domain+" sig "), msg...), crypto.Hash(0))
}

// verifySig checks an Ed25519 signature made with sign.
func verifySig(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, append([]byte(domain+" sig "), msg...), sig)
}

// fault is a refusal reason before it is tied to a round, phase and site.
type fault struct {
	reason error
	detail string
}

// failf returns a fault with a formatted detail.
func failf(reason error, format string, args ...any) *fault {
	return &fault{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// parsedKeys are a bundle's KEM public keys, parsed once.
type parsedKeys struct {
	kem, channel kem.PublicKey
}

// checkBundle validates a key bundle received by the aggregator or a site:
// bound to ctx, from a roster member, with an accepted identity key, a
// valid signature and usable public keys. With checkDH it also refuses a
// low-order X25519 key (a site instead catches it when it computes the
// shared secret).
func checkBundle(ctx *Context, hash [32]byte, k *AdvertiseKeys, verify IdentityVerifier, checkDH bool) (parsedKeys, *fault) {
	if f := checkHeader(ctx, hash, &k.Header); f != nil {
		return parsedKeys{}, f
	}
	if ctx.index(k.From) < 0 {
		return parsedKeys{}, failf(ErrUnknownSite, "not in the roster")
	}
	if len(k.IdentityKey) != ed25519.PublicKeySize {
		return parsedKeys{}, failf(ErrBadKey, "identity key of %d bytes", len(k.IdentityKey))
	}
	if err := verify(k.From, k.IdentityKey, k.Certificate); err != nil {
		return parsedKeys{}, failf(ErrIdentity, "%v", err)
	}
	if !verifySig(k.IdentityKey, k.signed(), k.Signature) {
		return parsedKeys{}, failf(ErrBadSignature, "key bundle")
	}
	if len(k.MaskDHKey) != dhKeySize {
		return parsedKeys{}, failf(ErrBadKey, "mask X25519 key of %d bytes", len(k.MaskDHKey))
	}
	if checkDH {
		if err := checkDHKey(k.MaskDHKey); err != nil {
			return parsedKeys{}, failf(err, "mask X25519 key")
		}
	}
	var pk parsedKeys
	var err error
	if pk.kem, err = mlkem768.Scheme().UnmarshalBinaryPublicKey(k.MaskKEMKey); err != nil {
		return parsedKeys{}, failf(ErrBadKey, "mask ML-KEM-768 key: %v", err)
	}
	if pk.channel, err = channelKEM.UnmarshalBinaryPublicKey(k.ChannelKey); err != nil {
		return parsedKeys{}, failf(ErrBadKey, "channel X-Wing key: %v", err)
	}
	return pk, nil
}

// checkHeader refuses a header from another round (ErrReplay when it is the
// same session) or another context.
func checkHeader(ctx *Context, hash [32]byte, h *Header) *fault {
	if h.Session == ctx.Session && h.Round != ctx.Round {
		return failf(ErrReplay, "message of round %d", h.Round)
	}
	if h.Context != hash {
		return failf(ErrWrongContext, "session %q round %d with another roster or parameters", h.Session, h.Round)
	}
	return nil
}

// sameBundle reports whether two key bundles hold the same keys.
func sameBundle(a, b *AdvertiseKeys) bool {
	return a.From == b.From && bytes.Equal(a.IdentityKey, b.IdentityKey) &&
		bytes.Equal(a.ChannelKey, b.ChannelKey) && bytes.Equal(a.MaskDHKey, b.MaskDHKey) &&
		bytes.Equal(a.MaskKEMKey, b.MaskKEMKey)
}
