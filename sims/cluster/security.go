package cluster

import (
	"fmt"
	"sort"
	"sync"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/protocol"
)

// CoordinatorID is the simulated coordinator's identity.
const CoordinatorID = "sim-coordinator"

// serverName is the host name sites expect in the coordinator's
// certificate (pki adds localhost to every coordinator certificate).
const serverName = "localhost"

// Kits are a simulated consortium's mTLS credentials: a consortium CA and
// one startup kit per participant, provisioned with crypto/pki exactly as
// `synthfed provision` does, then loaded from the kit directories. The
// coordinator refuses revoked certificates; Revoke revokes one and installs
// the new list at the coordinator while the consortium runs.
type Kits struct {
	// Dir is the provisioning directory (DIR/ca, DIR/kits/<role>/<id>).
	Dir string

	clk   clock.Clock
	coord *pki.Credentials
	sites map[string]*pki.Credentials

	mu       sync.Mutex
	rejected []string
}

// ProvisionKits provisions a CA and kits for the coordinator and sites in
// dir (reusing those already there) and loads them.
func ProvisionKits(dir string, sites []string, clk clock.Clock) (*Kits, error) {
	if clk == nil {
		clk = clock.New()
	}
	cons := pki.DefaultConsortium()
	cons.Name = "synthfed-sim"
	cons.Coordinator.ID = CoordinatorID
	for _, s := range sites {
		cons.Sites = append(cons.Sites, pki.Participant{ID: s})
	}
	if _, err := pki.Provision(cons, dir, pki.ProvisionOptions{Clock: clk}); err != nil {
		return nil, fmt.Errorf("cluster: provision kits: %w", err)
	}
	k := &Kits{Dir: dir, clk: clk, sites: map[string]*pki.Credentials{}}
	var err error
	if k.coord, err = pki.LoadKit(pki.KitDir(dir, pki.Identity{Role: pki.RoleCoordinator, ID: CoordinatorID}), clk); err != nil {
		return nil, fmt.Errorf("cluster: coordinator kit: %w", err)
	}
	for _, s := range sites {
		if k.sites[s], err = pki.LoadKit(pki.KitDir(dir, pki.Identity{Role: pki.RoleSite, ID: s}), clk); err != nil {
			return nil, fmt.Errorf("cluster: site %s kit: %w", s, err)
		}
	}
	return k, nil
}

// Revoke revokes site's certificate in the provisioning directory and
// loads the new revocation list at the coordinator, whose next handshakes
// honour it.
func (k *Kits) Revoke(site string) error {
	if _, err := pki.Revoke(k.Dir, pki.Identity{Role: pki.RoleSite, ID: site}, pki.ProvisionOptions{Clock: k.clk}); err != nil {
		return fmt.Errorf("cluster: revoke %s: %w", site, err)
	}
	return k.coord.Revocations.LoadFile(pki.CRLPath(k.Dir), k.coord.CA)
}

// Rejected lists the handshakes the coordinator refused after the chain
// verified (revoked certificate, wrong role), as the errors read, in
// order.
func (k *Kits) Rejected() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.rejected...)
}

// RejectedCount counts the refused handshakes.
func (k *Kits) RejectedCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.rejected)
}

func (k *Kits) onReject(err error) {
	k.mu.Lock()
	k.rejected = append(k.rejected, err.Error())
	k.mu.Unlock()
}

// server returns the coordinator's transport security and authenticator:
// TLS 1.3 requiring a consortium client certificate, the site identity
// taken from its URI SAN.
func (k *Kits) server() (protocol.Security, protocol.Authenticator, error) {
	o := k.coord.TLSOptions(k.clk)
	o.OnReject = k.onReject
	cfg, err := pki.ServerTLSConfig(o)
	if err != nil {
		return protocol.Security{}, nil, err
	}
	return protocol.Security{TLS: cfg}, protocol.CertAuthenticator{SiteFromURI: pki.SiteFromURI}, nil
}

// client returns site's transport security.
func (k *Kits) client(site string) (protocol.Security, error) {
	cred, ok := k.sites[site]
	if !ok {
		return protocol.Security{}, fmt.Errorf("cluster: no kit for site %s", site)
	}
	o := cred.TLSOptions(k.clk)
	o.ServerName = serverName
	cfg, err := pki.ClientTLSConfig(o)
	if err != nil {
		return protocol.Security{}, err
	}
	return protocol.Security{TLS: cfg}, nil
}

// Sites lists the sites holding a kit, sorted.
func (k *Kits) Sites() []string {
	out := make([]string, 0, len(k.sites))
	for s := range k.sites {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
