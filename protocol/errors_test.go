package protocol

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStatusRoundTrip(t *testing.T) {
	cases := []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("site a: %w", ErrVersion), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", ErrUnknownSession), codes.Unauthenticated},
		{fmt.Errorf("x: %w", ErrStale), codes.Aborted},
		{fmt.Errorf("x: %w", ErrLate), codes.DeadlineExceeded},
		{fmt.Errorf("x: %w", ErrDuplicate), codes.AlreadyExists},
		{fmt.Errorf("x: %w", ErrBadNonce), codes.PermissionDenied},
		{fmt.Errorf("x: %w", ErrPermission), codes.PermissionDenied},
		{fmt.Errorf("x: %w", ErrInvalidUpdate), codes.InvalidArgument},
		{fmt.Errorf("x: %w", ErrTooLarge), codes.ResourceExhausted},
		{fmt.Errorf("x: %w", ErrNotFound), codes.NotFound},
	}
	for _, tc := range cases {
		st := ToStatus(tc.err)
		if status.Code(st) != tc.code {
			t.Errorf("%v: code %v, want %v", tc.err, status.Code(st), tc.code)
		}
		back := FromStatus(st)
		var want error
		for _, c := range codeOf {
			if errors.Is(tc.err, c.err) {
				want = c.err
				break
			}
		}
		if !errors.Is(back, want) || status.Code(back) != tc.code {
			t.Errorf("%v: FromStatus lost the sentinel: %v", tc.err, back)
		}
	}
	if status.Code(ToStatus(context.Canceled)) != codes.Canceled || status.Code(ToStatus(errors.New("boom"))) != codes.Internal {
		t.Error("context or plain errors mapped wrong")
	}
	if !Retryable(status.Error(codes.Unavailable, "down")) || Retryable(ToStatus(ErrDuplicate)) {
		t.Error("Retryable")
	}
	// Stale and late are final, as sent and as received; the same codes
	// without the sentinel (gRPC's own) stay transient.
	for _, final := range []error{ErrStale, ErrLate} {
		wrapped := fmt.Errorf("site s1 round 3: %w", final)
		if Retryable(ToStatus(wrapped)) || Retryable(FromStatus(ToStatus(wrapped))) {
			t.Errorf("%v is retryable", final)
		}
	}
	if !Retryable(status.Error(codes.Aborted, "transport aborted")) || !Retryable(status.Error(codes.DeadlineExceeded, "slow link")) {
		t.Error("gRPC's own Aborted or DeadlineExceeded is not retryable")
	}
	if ToStatus(nil) != nil || FromStatus(nil) != nil {
		t.Error("nil not preserved")
	}
}

// TestStatusSaysTheSentinelOnce: a refusal that wraps its sentinel at
// the start or the end reads it once in the status and once on the
// receiving side.
func TestStatusSaysTheSentinelOnce(t *testing.T) {
	cases := []error{
		fmt.Errorf("%w: synthfed://site/a may not call /synthfed.admin.v1.Admin/ListJobs: role not allowed", ErrPermission),
		fmt.Errorf("site a job j round 2 attempt 0: current is none: %w", ErrStale),
		ErrLate,
	}
	for _, err := range cases {
		st := ToStatus(err)
		sentinel := FromStatus(st).(*remoteError).sentinel.Error()
		for _, got := range []string{status.Convert(st).Message(), FromStatus(st).Error()} {
			if n := strings.Count(got, sentinel); n != 1 {
				t.Errorf("%q says %q %d times", got, sentinel, n)
			}
		}
	}
}

func TestCheckVersion(t *testing.T) {
	if CheckVersion(Version) != nil || !errors.Is(CheckVersion(Version+1), ErrVersion) {
		t.Fatal("CheckVersion")
	}
}
