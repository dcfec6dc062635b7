package pki

import (
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KitGossipFile is the consortium's gossip secret in a kit (and in DIR/ca):
// 32 random bytes in hex, mode 0600. Every participant derives from it the
// key that encrypts and authenticates the memberlist failure-detection
// traffic (GossipKey), so that only kit holders can gossip.
const KitGossipFile = "gossip.key"

// gossipSecretLen is the length of the gossip secret in bytes.
const gossipSecretLen = 32

// gossipInfo labels the HKDF derivation of the gossip key.
const gossipInfo = "synthfed-memberlist-v1"

// ensureGossipSecret returns the consortium's gossip secret in DIR/ca,
// creating it on first use (also for a CA provisioned before gossip
// secrets existed).
func ensureGossipSecret(out string, rnd io.Reader) ([]byte, error) {
	path := filepath.Join(out, caDir, KitGossipFile)
	secret, err := ReadGossipSecret(path)
	if err == nil {
		return secret, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	secret = make([]byte, gossipSecretLen)
	if _, err := io.ReadFull(rnd, secret); err != nil {
		return nil, fmt.Errorf("pki: gossip secret: %w", err)
	}
	if err := writeFileAtomic(path, []byte(hex.EncodeToString(secret)+"\n"), privateFileMode); err != nil {
		return nil, err
	}
	return secret, nil
}

// ReadGossipSecret reads a gossip secret file (hex of 32 bytes). A missing
// file is reported with an error wrapping fs.ErrNotExist.
func ReadGossipSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(secret) != gossipSecretLen {
		return nil, fmt.Errorf("pki: %s: want %d bytes in hex: %w", path, gossipSecretLen, ErrCA)
	}
	return secret, nil
}

// GossipKey derives the 32-byte memberlist key (AES-256-GCM) from the
// consortium gossip secret, bound to the consortium CA: HKDF-SHA256 with the
// CA certificate's SHA-256 as salt.
func GossipKey(secret []byte, ca *x509.Certificate) ([]byte, error) {
	if len(secret) != gossipSecretLen || ca == nil {
		return nil, fmt.Errorf("pki: gossip key needs a %d-byte secret and the CA: %w", gossipSecretLen, ErrCA)
	}
	salt := sha256.Sum256(ca.Raw)
	return hkdf.Key(sha256.New, secret, salt[:], gossipInfo, 32)
}
