package coordinator

import (
	"strings"

	"github.com/synthfed/synthfed/coordinator/engine"
)

// refusalQueue bounds the refusals waiting for the loop; more are counted
// as overflow and logged instead of blocking the refused call.
const refusalQueue = 256

// queueRefusal hands a refusal to the loop without blocking the caller.
func (c *Coordinator) queueRefusal(who string, reason engine.Reason, detail string) {
	select {
	case c.refusals <- engine.CallRefused{Who: who, Reason: reason, Detail: detail}:
	default:
		c.ops.refusalOverflow.Add(1)
		c.log.Warn("refused call not audited: queue full", "caller", who, "reason", reason)
	}
}

// drainRefusals records the queued refusals.
func (c *Coordinator) drainRefusals() {
	for {
		select {
		case rf := <-c.refusals:
			c.callRefused(rf)
		default:
			return
		}
	}
}

// callRefused records a refusal on the loop goroutine. A site refused for a
// revoked certificate is also taken out of service: its session ends and
// the round in progress stops waiting for it.
func (c *Coordinator) callRefused(rf engine.CallRefused) {
	c.step(rf)
	if rf.Reason != engine.ReasonCertRevoked || rf.Who == "" || strings.Contains(rf.Who, "/") {
		return
	}
	if s, ok := c.bySite[rf.Who]; ok {
		c.closeSession(s)
	}
}
