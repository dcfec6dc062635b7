package siteagent

import (
	"context"
	"fmt"
)

// DeviceSlots bounds the device jobs of agents that share one device (the
// simulated sites of `synthfed sim --device`): a train, sample or
// evaluate task holds a slot while it computes on the device. Acquire waits in line for
// a slot and returns the function that gives it back, or ctx's error.
type DeviceSlots interface {
	Acquire(ctx context.Context) (release func(), err error)
}

// deviceSlot takes a device job slot when the agent computes on a device
// and shares it (Options.DeviceSlots); otherwise it holds nothing.
func (x *executor) deviceSlot(ctx context.Context) (func(), error) {
	if x.slots == nil || x.compute == nil || !x.compute.OnDevice() {
		return func() {}, nil
	}
	release, err := x.slots.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting for a device job slot: %w", err)
	}
	return release, nil
}
