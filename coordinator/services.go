package coordinator

import (
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/synthfed/synthfed/protocol/fedpb"
)

// registerServices adds the services beside Federation: the job service
// for sites and the admin service for operators.
func (c *Coordinator) registerServices(srv *grpc.Server) {
	fedpb.RegisterJobsServer(srv, &jobsService{c: c})
	fedpb.RegisterAdminServer(srv, &adminService{c: c})
}

// operations is the coordinator's state beside the Engine for operators:
// metrics, each site's last error and the start time. lastErr is touched
// only on the loop goroutine.
type operations struct {
	metrics *coordMetrics
	lastErr map[string]siteError
	started time.Time
	// metricsAddr is set by Run before it serves.
	metricsAddr atomic.Value // string
	// refusalOverflow counts refused calls the loop never heard of (its
	// queue was full); they are logged instead.
	refusalOverflow atomic.Int64
}
