package opencl

import (
	"errors"
	"math/rand/v2"
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
		c, err := OpenFirst()
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
