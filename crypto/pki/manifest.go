package pki

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// manifestVersion is the version of MANIFEST.json.
const manifestVersion = 1

// manifestDomain prefixes the signed manifest bytes.
const manifestDomain = "synthfed-kit-manifest-v1\n"

// ManifestFile is one file of a kit with its digest.
type ManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Manifest lists what a startup kit holds; the CA signs it so that a
// participant can check the kit it received (MANIFEST.sig holds the base64
// Ed25519 signature).
type Manifest struct {
	Version       int            `json:"version"`
	Consortium    string         `json:"consortium"`
	Role          Role           `json:"role"`
	ID            string         `json:"id"`
	Serial        string         `json:"serial"`
	NotAfter      time.Time      `json:"not_after"`
	Created       time.Time      `json:"created"`
	CAFingerprint string         `json:"ca_fingerprint"`
	Files         []ManifestFile `json:"files"`
}

// writeManifest hashes the listed files of dir and writes the signed
// manifest.
func writeManifest(dir string, m Manifest, files []string, ca *CA) error {
	m.Version = manifestVersion
	m.CAFingerprint = ca.Fingerprint()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("pki: manifest: %w", err)
		}
		h := sha256.Sum256(data)
		m.Files = append(m.Files, ManifestFile{Path: f, SHA256: hex.EncodeToString(h[:])})
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("pki: manifest: %w", err)
	}
	data = append(data, '\n')
	sig := ed25519.Sign(ca.Key, append([]byte(manifestDomain), data...))
	if err := os.WriteFile(filepath.Join(dir, KitManifestFile), data, 0o644); err != nil {
		return fmt.Errorf("pki: manifest: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(sig) + "\n"
	if err := os.WriteFile(filepath.Join(dir, KitSigFile), []byte(enc), 0o644); err != nil {
		return fmt.Errorf("pki: manifest: %w", err)
	}
	return nil
}

// decodeManifest parses a manifest strictly.
func decodeManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("pki: %s: %v: %w", KitManifestFile, err, ErrManifest)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("pki: %s: version %d, want %d: %w", KitManifestFile, m.Version, manifestVersion, ErrManifest)
	}
	if !m.Role.valid() || ValidID(m.ID) != nil {
		return nil, fmt.Errorf("pki: %s: participant %q/%q: %w", KitManifestFile, m.Role, m.ID, ErrManifest)
	}
	for _, f := range m.Files {
		if f.Path == "" || strings.ContainsAny(f.Path, `/\`) || f.Path == "." || f.Path == ".." {
			return nil, fmt.Errorf("pki: %s: file path %q: %w", KitManifestFile, f.Path, ErrManifest)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("pki: %s: digest of %q: %w", KitManifestFile, f.Path, ErrManifest)
		}
	}
	return &m, nil
}

// VerifyKit checks a kit directory: the manifest is signed by the kit's CA,
// the CA is the one whose fingerprint the consortium published (when
// wantFingerprint is not empty), every listed file is present and intact,
// and the credentials are listed.
func VerifyKit(dir, wantFingerprint string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, KitManifestFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w: %w", ErrManifest, err)
	}
	m, err := decodeManifest(data)
	if err != nil {
		return nil, err
	}
	ca, err := ReadCertFile(filepath.Join(dir, KitCAFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	fp := Fingerprint(ca)
	if fp != m.CAFingerprint || (wantFingerprint != "" && !strings.EqualFold(fp, wantFingerprint)) {
		return nil, fmt.Errorf("pki: kit CA fingerprint %s is not the expected one: %w", fp, ErrManifest)
	}
	sigText, err := os.ReadFile(filepath.Join(dir, KitSigFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w: %w", ErrManifest, err)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText)))
	pub, ok := ca.PublicKey.(ed25519.PublicKey)
	if err != nil || !ok || !ed25519.Verify(pub, append([]byte(manifestDomain), data...), sig) {
		return nil, fmt.Errorf("pki: %s is not signed by the kit's CA: %w", KitManifestFile, ErrManifest)
	}
	for _, f := range m.Files {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			return nil, fmt.Errorf("pki: kit file %s: %w: %w", f.Path, ErrManifest, err)
		}
		if h := sha256.Sum256(got); hex.EncodeToString(h[:]) != f.SHA256 {
			return nil, fmt.Errorf("pki: kit file %s was altered: %w", f.Path, ErrManifest)
		}
	}
	for _, need := range []string{KitCAFile, KitCertFile, KitKeyFile} {
		if !slices.ContainsFunc(m.Files, func(f ManifestFile) bool { return f.Path == need }) {
			return nil, fmt.Errorf("pki: manifest does not list %s: %w", need, ErrManifest)
		}
	}
	return m, nil
}
