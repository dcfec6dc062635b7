package coordinator

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/crypto/pki"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// adminDial connects an admin client over bufconn with mTLS, presenting
// cert (none when nil).
func adminDial(t *testing.T, lis *bufconn.Listener, dir string, cert *tls.Certificate) fedpb.AdminClient {
	t.Helper()
	creds, err := pki.LoadKit(kitOf(dir, pki.RoleAdmin, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := creds.TLSOptions(nil)
	o.ServerName = "localhost"
	cfg, err := pki.ClientTLSConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = nil
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := grpc.NewClient("passthrough:///localhost:7443", grpc.WithTransportCredentials(credentials.NewTLS(cfg)),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return fedpb.NewAdminClient(conn)
}

const adminSpec = `id = "lr"
kind = "train"
model = "logreg"
rounds = 2
quorum = 2
sites = ["site-a", "site-b"]
`

// TestAdminNeedsAdminCertificate checks that only an admin certificate of
// the consortium CA may use the admin API: a site's certificate and no
// certificate are refused; an admin's is served, and its identity is what
// the cancellation records.
func TestAdminNeedsAdminCertificate(t *testing.T) {
	dir := provisionKits(t, 5, "site-a", "site-b")
	tc := startTLSCoord(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	site := adminDial(t, tc.lis, dir, kitCert(t, dir, pki.RoleSite, "site-a"))
	if _, err := site.ClusterStatus(ctx, &fedpb.ClusterStatusRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("site certificate: %v, want PermissionDenied", err)
	}
	_, err := site.ListJobs(ctx, &fedpb.ListJobsRequest{})
	if msg := status.Convert(err).Message(); strings.Count(msg, "permission denied") != 1 || !strings.Contains(msg, "may not call") {
		t.Errorf("a site listing jobs reads %q: the refusal should say permission denied once and why", msg)
	}
	if _, err := site.SubmitJob(ctx, &fedpb.SubmitJobRequest{SpecToml: []byte(adminSpec)}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("site certificate submitting: %v, want PermissionDenied", err)
	}
	if _, err := tc.c.Job("lr"); err == nil {
		t.Fatal("a site's submission was stored")
	}
	anon := adminDial(t, tc.lis, dir, nil)
	if _, err := anon.ListJobs(ctx, &fedpb.ListJobsRequest{}); err == nil {
		t.Error("a caller without a certificate was served")
	}

	admin := adminDial(t, tc.lis, dir, kitCert(t, dir, pki.RoleAdmin, "alice"))
	st, err := admin.ClusterStatus(ctx, &fedpb.ClusterStatusRequest{})
	if err != nil || st.GetHealth() != "SERVING" {
		t.Fatalf("admin status: %v %v", st, err)
	}
	sub, err := admin.SubmitJob(ctx, &fedpb.SubmitJobRequest{SpecToml: []byte(adminSpec), Name: "lr.toml"})
	if err != nil || len(sub.GetJobIds()) != 1 || sub.GetJobIds()[0] != "lr" {
		t.Fatalf("submit: %v %v", sub, err)
	}
	if _, err := admin.SubmitJob(ctx, &fedpb.SubmitJobRequest{SpecToml: []byte(adminSpec)}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("second submit: %v, want AlreadyExists", err)
	}
	_, err = admin.SubmitJob(ctx, &fedpb.SubmitJobRequest{SpecToml: []byte("id = \"x\"\nkind = \"train\"\nmodel = \"m\"\nroundz = 1\n"), Name: "bad.toml"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "bad.toml:4") {
		t.Errorf("bad spec: %v, want InvalidArgument naming bad.toml:4", err)
	}
	if _, err := admin.CancelJob(ctx, &fedpb.CancelJobRequest{JobId: "lr"}); err != nil {
		t.Fatal(err)
	}
	list, err := admin.ListJobs(ctx, &fedpb.ListJobsRequest{})
	if err != nil || len(list.GetJobs()) != 1 || list.GetJobs()[0].GetState() != "failed" || list.GetJobs()[0].GetError() != "cancelled by admin/alice" {
		t.Fatalf("list after cancel: %v %v", list, err)
	}
	logs, err := admin.JobLogs(ctx, &fedpb.JobLogsRequest{JobId: "lr"})
	if err != nil || len(logs.GetEntries()) != 1 || logs.GetEntries()[0].GetWhat() != "job_failed" {
		t.Errorf("job logs: %v %v", logs, err)
	}
	if _, err := admin.CancelJob(ctx, &fedpb.CancelJobRequest{JobId: "lr"}); status.Code(err) != codes.Aborted {
		t.Errorf("cancel of an ended job: %v, want Aborted", err)
	}
	if _, err := admin.GetJob(ctx, &fedpb.GetJobRequest{JobId: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown job: %v, want NotFound", err)
	}
}

// TestAdminInsecureLoopbackOnly checks the insecure mode's policy: no
// caller can be identified, so only loopback callers are served.
func TestAdminInsecureLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		tcp  bool
		want codes.Code
	}{{"bufconn peer", false, codes.PermissionDenied}, {"loopback TCP", true, codes.OK}} {
		cfg := DefaultConfig()
		cfg.Insecure, cfg.DataDir, cfg.Gossip.Enabled, cfg.Listen = true, t.TempDir(), false, "127.0.0.1:0"
		cfg.StopGrace = Duration(time.Second)
		var lis net.Listener
		var dial func(context.Context, string) (net.Conn, error)
		if tc.tcp {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			lis = l
			dial = func(ctx context.Context, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", l.Addr().String())
			}
		} else {
			b := bufconn.Listen(1 << 20)
			lis, dial = b, func(ctx context.Context, _ string) (net.Conn, error) { return b.DialContext(ctx) }
		}
		c, err := New(cfg, Options{Listener: lis})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		conn, err := grpc.NewClient("passthrough:///coordinator", grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(dial))
		if err != nil {
			t.Fatal(err)
		}
		_, err = fedpb.NewAdminClient(conn).ClusterStatus(ctx, &fedpb.ClusterStatusRequest{})
		if status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		conn.Close()
		cancel()
		<-done
	}
}
