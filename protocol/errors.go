package protocol

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/synthfed/synthfed/protocol/fed"
)

// Sentinel errors shared by the coordinator and the agents (package fed
// holds them; they are the same values here). Components wrap them with %w
// and a message that names the site, round or tensor; only ToStatus and
// FromStatus translate them to and from gRPC status codes.
var (
	ErrVersion        = fed.ErrVersion
	ErrUnknownSession = fed.ErrUnknownSession
	ErrPermission     = fed.ErrPermission
	ErrStale          = fed.ErrStale
	ErrLate           = fed.ErrLate
	ErrDuplicate      = fed.ErrDuplicate
	ErrBadNonce       = fed.ErrBadNonce
	ErrInvalidUpdate  = fed.ErrInvalidUpdate
	ErrMalformed      = fed.ErrMalformed
	ErrNotFound       = fed.ErrNotFound
	ErrUnavailable    = fed.ErrUnavailable
	ErrTooLarge       = fed.ErrTooLarge
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
			msg := reasonKey + c.err.Error()
			if rest := without(err.Error(), c.err.Error()); rest != "" {
				msg += ": " + rest
			}
			return status.Error(c.code, msg)
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

// without removes the sentinel's own text from an error message that
// wraps it at its start or end, so that the status message, which names
// the sentinel first, says it once.
func without(msg, sentinel string) string {
	switch {
	case msg == sentinel:
		return ""
	case strings.HasPrefix(msg, sentinel+": "):
		return msg[len(sentinel)+2:]
	case strings.HasSuffix(msg, ": "+sentinel):
		return msg[:len(msg)-len(sentinel)-2]
	}
	return msg
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
		if st.Code() != c.code {
			continue
		}
		if rest, ok := strings.CutPrefix(msg, reasonKey+c.err.Error()); ok && (rest == "" || strings.HasPrefix(rest, ": ")) {
			return &remoteError{sentinel: c.err, msg: strings.TrimPrefix(rest, ": "), st: err}
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

func (e *remoteError) Error() string {
	if e.msg == "" {
		return "remote: " + e.sentinel.Error()
	}
	return fmt.Sprintf("remote: %v: %s", e.sentinel, e.msg)
}

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
