package device

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/synthfed/synthfed/model/device/opencl"
)

// ErrNoDevice reports a named device ("opencl:N") that does not exist or
// does not work. "auto" never returns it: it falls back to the CPU.
var ErrNoDevice = errors.New("device not usable")

// Select returns the backend cfg asks for. "cpu" is the CPU path;
// "opencl:N" opens that device and builds the kernels on it, or fails with
// ErrNoDevice; "auto" takes the first OpenCL GPU or accelerator that works
// and otherwise returns the CPU, logging one line that says why. A nil log
// discards.
func Select(cfg Config, log *slog.Logger) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spec, _ := ParseSpec(cfg.Device)
	if spec.Kind == KindCPU {
		b := CPU(cfg.capBytes())
		b.reason = "compute.device = cpu"
		return b, nil
	}
	if spec.Kind == KindAuto {
		if why := cpuOnlyICDs(); why != "" {
			b := CPU(cfg.capBytes())
			b.reason = "auto: no usable OpenCL GPU (" + why + ")"
			log.Warn("compute: no usable OpenCL GPU, training on the CPU", "why", why)
			return b, nil
		}
	}
	devs, lerr := opencl.Devices()
	return selectFrom(cfg, spec, devs, lerr, openBackend, log)
}

// opener opens a device and builds the kernels (openBackend; tests inject
// failures).
type opener func(d opencl.Device, capBytes int64) (*Backend, error)

// selectFrom is Select on a given device list.
func selectFrom(cfg Config, spec Spec, devs []opencl.Device, lerr error, open opener, log *slog.Logger) (*Backend, error) {
	if spec.Kind == KindOpenCL {
		if lerr != nil {
			return nil, fmt.Errorf("compute.device = %s: %w: %w", spec, ErrNoDevice, lerr)
		}
		if spec.Index >= len(devs) {
			return nil, fmt.Errorf("compute.device = %s: there are %d OpenCL devices (synthfed devices lists them): %w", spec, len(devs), ErrNoDevice)
		}
		b, err := open(devs[spec.Index], cfg.capBytes())
		if err != nil {
			return nil, fmt.Errorf("compute.device = %s: %w: %w", spec, ErrNoDevice, err)
		}
		b.reason = "compute.device = " + spec.String()
		return b, nil
	}
	var why []string
	switch {
	case lerr != nil:
		why = append(why, lerr.Error())
	case len(devs) == 0:
		why = append(why, "no OpenCL platform or device")
	}
	for _, d := range devs {
		if d.Type != "gpu" && d.Type != "accelerator" {
			why = append(why, fmt.Sprintf("opencl:%d %q is a %s device (the CPU path is faster on it)", d.Index, d.Name, d.Type))
			continue
		}
		b, err := open(d, cfg.capBytes())
		if err != nil {
			why = append(why, fmt.Sprintf("opencl:%d %q does not work: %v", d.Index, d.Name, err))
			continue
		}
		b.reason = "auto: the first working OpenCL GPU"
		log.Info("compute device", "device", b.String())
		return b, nil
	}
	b := CPU(cfg.capBytes())
	b.reason = "auto: no usable OpenCL GPU (" + strings.Join(why, "; ") + ")"
	log.Warn("compute: no usable OpenCL GPU, training on the CPU", "why", strings.Join(why, "; "))
	return b, nil
}

// openBackend opens d, builds the kernels and sets the cap: the smaller of
// the configured cap and the device's global memory.
func openBackend(d opencl.Device, capBytes int64) (*Backend, error) {
	ctx, err := opencl.Open(d)
	if err != nil {
		return nil, err
	}
	ops, err := opencl.NewOps(ctx)
	if err != nil {
		ctx.Close()
		return nil, err
	}
	mem := int64(d.GlobalMemBytes)
	if capBytes <= 0 || capBytes > mem {
		capBytes = mem
	}
	return &Backend{kind: KindOpenCL, dev: d, ctx: ctx, ops: ops, cap: capBytes}, nil
}
