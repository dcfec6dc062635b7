package pki

import (
	"fmt"
	"net"
	"strconv"

	"github.com/synthfed/synthfed/internal/config"
)

// Consortium is the provisioning configuration (consortium.toml): who the
// participants are and how long their certificates last.
type Consortium struct {
	// Name names the consortium (the CA subject and every certificate's O).
	Name string `toml:"name"`
	// CertValidityDays is the lifetime of participant certificates.
	CertValidityDays int `toml:"cert_validity_days"`
	// CAValidityDays is the lifetime of the CA.
	CAValidityDays int `toml:"ca_validity_days"`
	// Coordinator describes the coordinator.
	Coordinator CoordinatorSpec `toml:"coordinator"`
	// Sites lists the hospital sites.
	Sites []Participant `toml:"sites"`
	// Admins lists the consortium operators.
	Admins []Participant `toml:"admins"`
}

// CoordinatorSpec describes the coordinator and where sites reach it.
type CoordinatorSpec struct {
	// ID names the coordinator.
	ID string `toml:"id"`
	// Address is host:port the sites and admins dial.
	Address string `toml:"address"`
	// Listen is the address the coordinator binds (default 0.0.0.0:port).
	Listen string `toml:"listen"`
	// Hosts are the DNS names and IP addresses in its certificate (default:
	// the host of Address, plus localhost and 127.0.0.1).
	Hosts []string `toml:"hosts"`
}

// Participant is one site or admin.
type Participant struct {
	ID string `toml:"id"`
}

// DefaultConsortium returns one-year certificates, a ten-year CA and a
// coordinator on localhost:7443.
func DefaultConsortium() Consortium {
	return Consortium{Name: "synthfed", CertValidityDays: 365, CAValidityDays: 3650,
		Coordinator: CoordinatorSpec{ID: "coordinator", Address: "localhost:7443"}}
}

// LoadConsortium reads a consortium file strictly over the defaults.
func LoadConsortium(path string) (Consortium, error) {
	c := DefaultConsortium()
	if err := config.LoadFile(path, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports every problem at once.
func (c Consortium) Validate() error {
	var p config.Problems
	if c.Name == "" {
		p.Addf("pki: name is empty")
	}
	if c.CertValidityDays < 1 || c.CAValidityDays < c.CertValidityDays {
		p.Addf("pki: cert_validity_days %d and ca_validity_days %d: want 1 <= cert <= ca", c.CertValidityDays, c.CAValidityDays)
	}
	if err := ValidID(c.Coordinator.ID); err != nil {
		p.Addf("pki: coordinator.id: %v", err)
	}
	if _, port, err := net.SplitHostPort(c.Coordinator.Address); err != nil {
		p.Addf("pki: coordinator.address %q: %v", c.Coordinator.Address, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.Addf("pki: coordinator.address %q: port %q", c.Coordinator.Address, port)
	}
	seen := map[string]bool{}
	for _, group := range []struct {
		name string
		list []Participant
	}{{"sites", c.Sites}, {"admins", c.Admins}} {
		for i, s := range group.list {
			if err := ValidID(s.ID); err != nil {
				p.Addf("pki: %s[%d]: %v", group.name, i, err)
			}
			if seen[group.name+"/"+s.ID] {
				p.Addf("pki: %s[%d]: %q listed twice", group.name, i, s.ID)
			}
			seen[group.name+"/"+s.ID] = true
		}
	}
	return p.Err()
}

// coordinatorHosts returns the host names for the coordinator certificate.
func (c Consortium) coordinatorHosts() []string {
	if len(c.Coordinator.Hosts) > 0 {
		return c.Coordinator.Hosts
	}
	host, _, _ := net.SplitHostPort(c.Coordinator.Address)
	hosts := []string{host}
	for _, h := range []string{"localhost", "127.0.0.1"} {
		if h != host {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// listen returns the coordinator's bind address.
func (c Consortium) listen() string {
	if c.Coordinator.Listen != "" {
		return c.Coordinator.Listen
	}
	_, port, _ := net.SplitHostPort(c.Coordinator.Address)
	return net.JoinHostPort("0.0.0.0", port)
}

// participants lists every identity of the consortium, coordinator first.
func (c Consortium) participants() []Identity {
	out := []Identity{{Role: RoleCoordinator, ID: c.Coordinator.ID}}
	for _, s := range c.Sites {
		out = append(out, Identity{Role: RoleSite, ID: s.ID})
	}
	for _, a := range c.Admins {
		out = append(out, Identity{Role: RoleAdmin, ID: a.ID})
	}
	return out
}

// String describes the consortium briefly.
func (c Consortium) String() string {
	return fmt.Sprintf("consortium %q: coordinator %q at %s, %d sites, %d admins", c.Name, c.Coordinator.ID, c.Coordinator.Address, len(c.Sites), len(c.Admins))
}
