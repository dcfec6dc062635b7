package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/device/opencl"
)

func init() {
	register(func() *cobra.Command {
		var smoke bool
		cmd := &cobra.Command{
			Use:   "devices",
			Short: "List the OpenCL devices (memory, compute units) synthfed can use",
			Long: `devices lists every OpenCL platform's devices with their memory and
compute units, numbered as "opencl:N" (a site's [compute] device), and which
one device = "auto" would take. Without an OpenCL library or device it says
so plainly and exits 0: training then runs on the CPU.

With --smoke it also builds synthfed's kernels on each device and checks a
64x64x64 SGEMM against the CPU: the first thing to run on a new machine.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				devs, err := opencl.Devices()
				if werr := writeDevices(cmd.OutOrStdout(), devs, err); werr != nil {
					return werr
				}
				if werr := writeAuto(cmd.OutOrStdout()); werr != nil {
					return werr
				}
				if !smoke {
					return nil
				}
				var failed error
				for _, d := range devs {
					msg, err := smokeDevice(d)
					if err != nil {
						failed = errors.Join(failed, fmt.Errorf("opencl:%d: %w", d.Index, err))
						msg = "FAILED: " + err.Error()
					}
					fmt.Fprintf(cmd.OutOrStdout(), "smoke opencl:%d: %s\n", d.Index, msg)
				}
				return failed
			},
		}
		cmd.Flags().BoolVar(&smoke, "smoke", false, "build the kernels on each device and check an SGEMM against the CPU")
		return cmd
	})
}

// writeDevices prints the device table, or one plain line saying why there
// is none. Only a write failure is returned: no OpenCL is not an error.
func writeDevices(w io.Writer, devs []opencl.Device, err error) error {
	switch {
	case errors.Is(err, opencl.ErrUnavailable):
		_, werr := fmt.Fprintf(w, "no OpenCL devices: %v (install an OpenCL driver, or pocl for the CPU: scripts/deps.sh); synthfed runs on the CPU\n", err)
		return werr
	case err != nil:
		_, werr := fmt.Fprintf(w, "no OpenCL devices: listing failed: %v; synthfed runs on the CPU\n", err)
		return werr
	case len(devs) == 0:
		_, werr := fmt.Fprintln(w, "no OpenCL devices: the OpenCL loader found no platform (no ICD in /etc/OpenCL/vendors or $OCL_ICD_VENDORS); synthfed runs on the CPU")
		return werr
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tTYPE\tNAME\tPLATFORM\tCOMPUTE UNITS\tCLOCK MHZ\tGLOBAL MEM\tMAX ALLOC\tLOCAL MEM\tMAX WORK-GROUP\tOPENCL")
	for _, d := range devs {
		fmt.Fprintf(tw, "opencl:%d\t%s\t%s\t%s\t%d\t%d\t%.1f GiB\t%.1f GiB\t%d KiB\t%d\t%s\n",
			d.Index, d.Type, d.Name, d.Platform, d.ComputeUnits, d.ClockMHz,
			float64(d.GlobalMemBytes)/(1<<30), float64(d.MaxAllocBytes)/(1<<30), d.LocalMemBytes>>10, d.MaxWorkGroupSize, d.Version)
	}
	return tw.Flush()
}

// writeAuto says which backend a site's [compute] device = "auto" would
// take here, and why.
func writeAuto(w io.Writer) error {
	b, err := device.Select(device.DefaultConfig(), nil)
	if err != nil {
		_, werr := fmt.Fprintf(w, "device = \"auto\" would fail: %v\n", err)
		return werr
	}
	defer b.Close()
	_, werr := fmt.Fprintf(w, "device = \"auto\" would use: %s; %s\n", b, b.Reason())
	return werr
}

// smokeDevice builds the kernels on d and checks one SGEMM against a Go
// reference, returning a one-line summary.
func smokeDevice(d opencl.Device) (string, error) {
	start := time.Now()
	c, err := opencl.Open(d)
	if err != nil {
		return "", err
	}
	defer c.Close()
	ops, err := opencl.NewOps(c)
	if err != nil {
		return "", err
	}
	defer ops.Release()
	built := time.Since(start)
	const n = 64
	r := rand.New(rand.NewPCG(14, 1))
	a, b := make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	da, err := c.Upload(a)
	if err != nil {
		return "", err
	}
	defer da.Release()
	db, err := c.Upload(b)
	if err != nil {
		return "", err
	}
	defer db.Release()
	dc, err := c.NewBuffer(n * n)
	if err != nil {
		return "", err
	}
	defer dc.Release()
	if err := ops.SGEMM(false, false, n, n, n, 1, da, db, 0, dc); err != nil {
		return "", err
	}
	got := make([]float32, n*n)
	if err := dc.Read(got); err != nil {
		return "", err
	}
	var worst float64
	for i := range n {
		for j := range n {
			var s, abs float64
			for k := range n {
				p := float64(a[i*n+k]) * float64(b[k*n+j])
				s, abs = s+p, abs+math.Abs(p)
			}
			worst = max(worst, math.Abs(float64(got[i*n+j])-s)/abs)
		}
	}
	if !(worst <= 1e-5) {
		return "", fmt.Errorf("sgemm 64x64x64 differs from the CPU: worst error %.3g of the absolute sum", worst)
	}
	return fmt.Sprintf("kernels built in %v, sgemm 64x64x64 matches the CPU (worst error %.2g of the absolute sum)", built.Round(time.Millisecond), worst), nil
}
