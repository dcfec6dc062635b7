package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/sims/cluster"
)

// defaultSimDevice keeps `synthfed sim` (and `make sim`) on the CPU path
// unless --device says otherwise.
const defaultSimDevice = "cpu"

// simDevice is the compute every simulated site shares: one backend and,
// on an OpenCL device, the slots bounding the sites' concurrent device
// jobs.
type simDevice struct {
	spec    string
	backend *device.Backend
	slots   *cluster.Slots
}

// checkSimDevice validates --device and --device-jobs (exit status 2 on
// a bad value), reporting both problems at once.
func checkSimDevice(spec string, jobs int) error {
	var errs []error
	if _, err := device.ParseSpec(spec); err != nil {
		errs = append(errs, fmt.Errorf("--device: %w", err))
	}
	if jobs < 1 {
		errs = append(errs, fmt.Errorf("--device-jobs %d: %w", jobs, cluster.ErrSlots))
	}
	if err := errors.Join(errs...); err != nil {
		return withExitCode(2, err)
	}
	return nil
}

// openSimDevice selects the device as a site's [compute] section would
// ("auto" falls back to the CPU, logging why; "opencl:N" fails when that
// device does not work), and on an OpenCL device makes the job slots.
// Each site agent gets the backend as its Compute: its DDPM and
// classifier steps and its sampler run resident there, its logreg on
// device.LogregTrainer; the researcher's in-process classifiers train and
// predict there too (study.Trainer.UseDevice).
func openSimDevice(spec string, jobs int, log *slog.Logger) (*simDevice, error) {
	if err := checkSimDevice(spec, jobs); err != nil {
		return nil, err
	}
	b, err := device.Select(device.Config{Device: spec}, log)
	if err != nil {
		return nil, fmt.Errorf("--device %s: %w", spec, err)
	}
	d := &simDevice{spec: spec, backend: b}
	if !b.OnDevice() {
		return d, nil
	}
	if d.slots, err = cluster.NewSlots(jobs); err != nil {
		b.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the device.
func (d *simDevice) Close() error { return d.backend.Close() }

// describe prints the line saying where the sites compute (nothing for
// the default --device cpu, whose output stays as it was).
func (d *simDevice) describe(w io.Writer) {
	if d.spec == defaultSimDevice {
		return
	}
	if !d.backend.OnDevice() {
		fmt.Fprintf(w, "sim: sites compute on the CPU (%s)\n", d.backend.Reason())
		return
	}
	fmt.Fprintf(w, "sim: sites compute on %s (DDPM and classifier steps and sampling resident); at most %d device jobs at once\n",
		d.backend, d.slots.Stats().Slots)
}

// report prints how the device was shared.
func (d *simDevice) report(w io.Writer) {
	if d.slots == nil {
		return
	}
	st := d.slots.Stats()
	fmt.Fprintf(w, "device jobs: %d slots, at most %d held at once, %d granted, %d waited for a slot\n", st.Slots, st.MaxHeld, st.Granted, st.Waited)
}
