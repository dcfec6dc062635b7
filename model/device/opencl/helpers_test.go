package opencl

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

var (
	testOpsOnce sync.Once
	testOpsVal  *Ops
	testOpsErr  error
)

// testOps returns Ops on the first OpenCL device (pocl in CI), shared by
// the package's tests, or skips the test with the reason there is none.
func testOps(t testing.TB) *Ops {
	t.Helper()
	testOpsOnce.Do(func() {
		c, err := openTestDevice()
		if err != nil {
			testOpsErr = err
			return
		}
		testOpsVal, testOpsErr = NewOps(c)
	})
	if testOpsErr != nil {
		if errors.Is(testOpsErr, ErrUnavailable) || errors.Is(testOpsErr, ErrDeviceNotFound) {
			t.Skipf("no OpenCL device (scripts/deps.sh installs pocl as root): %v", testOpsErr)
		}
		t.Fatalf("opencl set-up: %v", testOpsErr)
	}
	return testOpsVal
}

// TestDeviceEnv names the environment variable that picks the tests'
// device by number ("opencl:N", as synthfed devices lists them; default
// the first device): scripts/device-check.sh sets it on a GPU machine.
const TestDeviceEnv = "SYNTHFED_TEST_DEVICE"

// openTestDevice opens the device TestDeviceEnv names, or the first one.
func openTestDevice() (*Context, error) {
	name := os.Getenv(TestDeviceEnv)
	if name == "" {
		return OpenFirst()
	}
	var n int
	if _, err := fmt.Sscanf(name, "opencl:%d", &n); err != nil {
		return nil, fmt.Errorf("%s=%q: want opencl:N", TestDeviceEnv, name)
	}
	devs, err := Devices()
	if err != nil {
		return nil, err
	}
	if n < 0 || n >= len(devs) {
		return nil, fmt.Errorf("%s=%q: %d devices: %w", TestDeviceEnv, name, len(devs), ErrDeviceNotFound)
	}
	return Open(devs[n])
}

// randn returns n normal values from a seeded source.
func randn(seed uint64, n int, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 14))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

// upload copies x to a new device buffer, released at the test's end.
func upload(t testing.TB, o *Ops, x []float32) *Buffer {
	t.Helper()
	b, err := o.Context().Upload(x)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Release() })
	return b
}

// zeros allocates n device values (zeroed), released at the test's end.
func zeros(t testing.TB, o *Ops, n int) *Buffer {
	t.Helper()
	return upload(t, o, make([]float32, n))
}

// read copies a device buffer back.
func read(t testing.TB, b *Buffer) []float32 {
	t.Helper()
	x := make([]float32, b.Len())
	if err := b.Read(x); err != nil {
		t.Fatal(err)
	}
	return x
}
