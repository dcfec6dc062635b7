package protocol

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors shared by the coordinator and the agents. Components wrap
// them with %w and a message that names the site, round or tensor; only
// ToStatus and FromStatus translate them to and from gRPC status codes.
var (
	// ErrVersion reports an unsupported protocol version.
	ErrVersion = errors.New("protocol version mismatch")
	// ErrUnknownSession reports a session the coordinator does not know
	// (for example after a restart); the agent joins again.
	ErrUnknownSession = errors.New("unknown session")
	// ErrPermission reports a site that may not do what it asked.
	ErrPermission = errors.New("permission denied")
	// ErrStale reports a message for a round or attempt that is over.
	ErrStale = errors.New("stale round")
	// ErrLate reports an update that arrived after its phase's deadline.
	ErrLate = errors.New("late update")
	// ErrDuplicate reports a second update for the same task.
	ErrDuplicate = errors.New("duplicate update")
	// ErrBadNonce reports an update whose nonce does not match its task.
	ErrBadNonce = errors.New("nonce mismatch")
	// ErrInvalidUpdate reports an update refused by validation.
	ErrInvalidUpdate = errors.New("invalid update")
	// ErrMalformed reports a message or stream that breaks the protocol.
	ErrMalformed = errors.New("malformed message")
	// ErrNotFound reports an unknown job, model or task.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable reports a coordinator that cannot serve now.
	ErrUnavailable = errors.New("unavailable")
	// ErrTooLarge reports a stream over the configured limits.
	ErrTooLarge = errors.New("stream too large")
)

var codeOf = []struct {
	err  error
	code codes.Code
}{
	{ErrVersion, codes.FailedPrecondition},
	{ErrUnknownSession, codes.Unauthenticated},
	{ErrPermission, codes.PermissionDenied},
	{ErrStale, codes.Aborted},
	{ErrLate, codes.DeadlineExceeded},
	{ErrDuplicate, codes.AlreadyExists},
	{ErrBadNonce, codes.PermissionDenied},
	{ErrInvalidUpdate, codes.InvalidArgument},
	{ErrMalformed, codes.InvalidArgument},
	{ErrNotFound, codes.NotFound},
	{ErrUnavailable, codes.Unavailable},
	{ErrTooLarge, codes.ResourceExhausted},
}

// reasonKey prefixes the sentinel's text in a status message so that
// FromStatus can recover the exact sentinel, not only its code.
const reasonKey = "synthfed: "

// ToStatus converts err to a gRPC status error whose code follows the
// sentinel it wraps and whose message keeps the full text. Context errors
// map to Canceled and DeadlineExceeded; anything else is Internal.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, c := range codeOf {
		if errors.Is(err, c.err) {
			return status.Error(c.code, reasonKey+c.err.Error()+": "+err.Error())
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// FromStatus converts a gRPC status error back to an error that wraps the
// matching sentinel, keeping the server's message. Errors without a known
// sentinel keep their status (so status.Code still works on them).
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	for _, c := range codeOf {
		prefix := reasonKey + c.err.Error() + ": "
		if st.Code() == c.code && len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
			return &remoteError{sentinel: c.err, msg: msg[len(prefix):], st: err}
		}
	}
	if st.Code() == codes.Unavailable {
		return &remoteError{sentinel: ErrUnavailable, msg: msg, st: err}
	}
	return err
}

// remoteError is an error received from the other side.
type remoteError struct {
	sentinel error
	msg      string
	st       error
}

func (e *remoteError) Error() string { return fmt.Sprintf("remote: %s", e.msg) }

// Is matches the sentinel.
func (e *remoteError) Is(target error) bool { return target == e.sentinel }

// Unwrap returns the status error, so that status.Code works on it.
func (e *remoteError) Unwrap() error { return e.st }

// GRPCStatus lets status.FromError see the original status.
func (e *remoteError) GRPCStatus() *status.Status {
	st, _ := status.FromError(e.st)
	return st
}

// Retryable reports whether err is transient: the agent should back off and
// try again rather than give up.
func Retryable(err error) bool {
	// A stale or late update is the coordinator's final word on its round
	// (codes Aborted and DeadlineExceeded, which are otherwise transient):
	// sending it again cannot help, and a site back from a partition would
	// re-upload its whole model every backoff until the task's deadline.
	if e := FromStatus(err); errors.Is(e, ErrStale) || errors.Is(e, ErrLate) {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded, codes.Unknown:
		return true
	}
	return errors.Is(err, ErrUnavailable)
}
