package cluster

import (
	"crypto/tls"
	"fmt"
	"sync"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/clock"
)

// CoordinatorID is the simulated coordinator's identity.
const CoordinatorID = "sim-coordinator"

// Kits are a simulated consortium's startup kits: a consortium CA and one
// kit per participant, provisioned with crypto/pki exactly as `synthfed
// provision` writes them. The coordinator and agents load their kits with
// coordinator.UseKit and siteagent.UseKit, which gives mTLS (revocation
// checked at every handshake and every call) and secure aggregation for
// every job that does not turn it off. Revoke revokes a site while the
// consortium runs.
type Kits struct {
	// Dir is the provisioning directory (DIR/ca, DIR/kits/<role>/<id>).
	Dir string

	clk   clock.Clock
	sites []string

	mu       sync.Mutex
	rejected []string
	watchers []*pki.CRLWatcher
}

// ProvisionKits provisions a CA and kits for the coordinator and sites in
// dir (reusing those already there) and checks that each loads.
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
	k := &Kits{Dir: dir, clk: clk, sites: append([]string(nil), sites...)}
	for _, id := range append([]pki.Identity{{Role: pki.RoleCoordinator, ID: CoordinatorID}}, siteIdentities(sites)...) {
		if _, err := pki.LoadKit(pki.KitDir(dir, id), clk); err != nil {
			return nil, fmt.Errorf("cluster: kit of %s: %w", id, err)
		}
	}
	return k, nil
}

func siteIdentities(sites []string) []pki.Identity {
	out := make([]pki.Identity, len(sites))
	for i, s := range sites {
		out[i] = pki.Identity{Role: pki.RoleSite, ID: s}
	}
	return out
}

// CoordinatorKit is the coordinator's kit directory.
func (k *Kits) CoordinatorKit() string {
	return pki.KitDir(k.Dir, pki.Identity{Role: pki.RoleCoordinator, ID: CoordinatorID})
}

// SiteKit is site's kit directory.
func (k *Kits) SiteKit(site string) string {
	return pki.KitDir(k.Dir, pki.Identity{Role: pki.RoleSite, ID: site})
}

// Revoke revokes site's certificate (a new list in every kit) and has
// every running participant reload its list at once.
func (k *Kits) Revoke(site string) error {
	if _, err := pki.Revoke(k.Dir, pki.Identity{Role: pki.RoleSite, ID: site}, pki.ProvisionOptions{Clock: k.clk}); err != nil {
		return fmt.Errorf("cluster: revoke %s: %w", site, err)
	}
	k.mu.Lock()
	ws := append([]*pki.CRLWatcher(nil), k.watchers...)
	k.mu.Unlock()
	for _, w := range ws {
		if err := w.Reload(); err != nil {
			return fmt.Errorf("cluster: reload revocation list: %w", err)
		}
	}
	return nil
}

// watch registers a participant's revocation-list watcher.
func (k *Kits) watch(w *pki.CRLWatcher) {
	k.mu.Lock()
	k.watchers = append(k.watchers, w)
	k.mu.Unlock()
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

// countRejections wraps a server TLS configuration's connection check so
// that its refusals are also recorded here.
func (k *Kits) countRejections(tc *tls.Config) {
	check := tc.VerifyConnection
	if check == nil {
		return
	}
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		err := check(cs)
		if err != nil {
			k.mu.Lock()
			k.rejected = append(k.rejected, err.Error())
			k.mu.Unlock()
		}
		return err
	}
}
