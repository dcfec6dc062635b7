package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/internal/config"
)

func init() { register(newProvisionCmd) }

func newProvisionCmd() *cobra.Command {
	var cfgPath, out string
	cmd := &cobra.Command{
		Use:   "provision --config consortium.toml --out DIR",
		Short: "Create the consortium CA and a startup kit per participant",
		Long: `provision creates (or reuses) the consortium CA in DIR/ca and writes a startup
kit in DIR/kits/<role>/<id> for every participant of the configuration that has
none yet: certificate (identity as URI SAN synthfed://<role>/<id>), key, CA
certificate, revocation list, configuration, start script and a CA-signed
manifest. Run it again after adding a site: only the new site gets a kit.
Publish DIR/CA-FINGERPRINT out of band; participants check their kit with
"synthfed provision verify". Revoke a participant with "synthfed provision revoke".
An annotated example configuration is examples/consortium.toml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			c, err := pki.LoadConsortium(cfgPath)
			if err != nil {
				return withExitCode(2, err)
			}
			rep, err := pki.Provision(c, out, pki.ProvisionOptions{Clock: clock.New(), Logger: log})
			if err != nil {
				return exitFor(err)
			}
			printReport(cmd.OutOrStdout(), out, rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "consortium TOML file")
	f.StringVar(&out, "out", "", "provisioning directory (created if missing)")
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("out")
	cmd.AddCommand(newRevokeCmd(), newVerifyKitCmd())
	return cmd
}

// exitFor maps provisioning errors to exit statuses: bad configuration or
// a directory of another consortium is bad input (2).
func exitFor(err error) error {
	if errors.Is(err, config.ErrInvalid) || errors.Is(err, pki.ErrCA) || errors.Is(err, pki.ErrInvalidID) {
		return withExitCode(2, err)
	}
	return err
}

func printReport(w io.Writer, out string, rep *pki.ProvisionReport) {
	if rep.CACreated {
		fmt.Fprintf(w, "created consortium CA in %s\n", out)
	}
	fmt.Fprintf(w, "CA fingerprint (SHA-256): %s\n", rep.CAFingerprint)
	for _, id := range rep.Issued {
		fmt.Fprintf(w, "issued  %-40s %s\n", id, pki.KitDir(out, id))
	}
	for _, id := range rep.Kept {
		fmt.Fprintf(w, "kept    %s\n", id)
	}
	for _, id := range rep.Revoked {
		fmt.Fprintf(w, "revoked %s (not re-issued)\n", id)
	}
}

func newRevokeCmd() *cobra.Command {
	var out, role, id string
	cmd := &cobra.Command{
		Use:   "revoke --out DIR --id ID [--role site|coordinator|admin]",
		Short: "Revoke a participant's certificate and sign a new revocation list",
		Long: `revoke adds the participant's certificate to a new CA-signed revocation list,
written to DIR/ca/crl.pem and to the crl.pem of every kit under DIR/kits.
Copy it to the coordinator (its kit's crl.pem) for the refusal to take effect.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := stderrLogger()
			if err != nil {
				return err
			}
			who := pki.Identity{Role: pki.Role(role), ID: id}
			if err := pki.ValidID(id); err != nil {
				return withExitCode(2, err)
			}
			serial, err := pki.Revoke(out, who, pki.ProvisionOptions{Clock: clock.New(), Logger: log})
			if err != nil {
				if errors.Is(err, pki.ErrNoIdentity) || errors.Is(err, pki.ErrRevoked) {
					return withExitCode(2, err)
				}
				return exitFor(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (serial %x); new list: %s\n", who, serial, pki.CRLPath(out))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "provisioning directory")
	f.StringVar(&id, "id", "", "participant ID")
	f.StringVar(&role, "role", string(pki.RoleSite), "participant role: site, coordinator or admin")
	_ = cmd.MarkFlagRequired("out")
	_ = cmd.MarkFlagRequired("id")
	return cmd
}

func newVerifyKitCmd() *cobra.Command {
	var fingerprint string
	cmd := &cobra.Command{
		Use:   "verify KITDIR [--ca-fingerprint HEX]",
		Short: "Check a startup kit against its CA-signed manifest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := pki.VerifyKit(args[0], fingerprint)
			if err != nil {
				return withExitCode(2, err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "kit of %s://%s/%s in consortium %q verifies (%d files)\n", pki.URIScheme, m.Role, m.ID, m.Consortium, len(m.Files))
			fmt.Fprintf(w, "CA fingerprint (SHA-256): %s\n", m.CAFingerprint)
			if fingerprint == "" {
				fmt.Fprintln(w, "compare it with the value the consortium published, or pass --ca-fingerprint")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&fingerprint, "ca-fingerprint", "", "the CA fingerprint published by the consortium")
	return cmd
}
