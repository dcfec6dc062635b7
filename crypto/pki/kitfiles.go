package pki

import (
	"fmt"
	"strings"
)

// kitConfig returns the name and contents of a participant's configuration
// file. It names only what provisioning decides (identity, coordinator
// address, credential files); every other setting keeps its default.
func kitConfig(c Consortium, id Identity) (string, string) {
	var b strings.Builder
	tlsTable := fmt.Sprintf("\n# Credentials of this kit (paths relative to this file).\n[tls]\nca = %q\ncert = %q\nkey = %q\ncrl = %q\n",
		KitCAFile, KitCertFile, KitKeyFile, KitCRLFile)
	if id.Role != RoleAdmin {
		tlsTable += fmt.Sprintf("gossip_key = %q\n", KitGossipFile)
	}
	switch id.Role {
	case RoleSite:
		fmt.Fprintf(&b, "# Site agent of site %q in consortium %q, written by synthfed provision.\n", id.ID, c.Name)
		fmt.Fprintf(&b, "# The site ID that counts is the one in cert.pem (URI SAN %s).\n", id.URI())
		fmt.Fprintf(&b, "site_id = %q\ncoordinator = %q\n", id.ID, c.Coordinator.Address)
		b.WriteString(tlsTable)
		return "site-agent.toml", b.String()
	case RoleCoordinator:
		fmt.Fprintf(&b, "# Coordinator %q of consortium %q, written by synthfed provision.\n", id.ID, c.Name)
		fmt.Fprintf(&b, "id = %q\nlisten = %q\ndata_dir = %q\n", id.ID, c.listen(), "coordinator-data")
		b.WriteString(tlsTable)
		return "coordinator.toml", b.String()
	default:
		fmt.Fprintf(&b, "# Admin %q of consortium %q, written by synthfed provision.\n", id.ID, c.Name)
		fmt.Fprintf(&b, "admin_id = %q\ncoordinator = %q\n", id.ID, c.Coordinator.Address)
		b.WriteString(tlsTable)
		return "admin.toml", b.String()
	}
}

// startScript returns the kit's start script.
func startScript(c Consortium, id Identity, configFile string) string {
	head := fmt.Sprintf("#!/bin/sh\n# Starts %s of consortium %q. Written by synthfed provision.\n"+
		"# Check the kit first: synthfed provision verify \"$(dirname \"$0\")\" --ca-fingerprint <published value>\n"+
		"set -eu\ncd \"$(dirname \"$0\")\"\n", id, c.Name)
	switch id.Role {
	case RoleSite:
		return head + fmt.Sprintf("exec synthfed site-agent --config %s \"$@\"\n", configFile)
	case RoleCoordinator:
		return head + fmt.Sprintf("exec synthfed coordinator --config %s \"$@\"\n", configFile)
	default:
		return head + fmt.Sprintf("cmd=${1:-status}\n[ $# -gt 0 ] && shift\nexec synthfed \"$cmd\" --config %s \"$@\"\n", configFile)
	}
}
