package secagg

// Logger receives a state machine's debug and info events. A
// *slog.Logger is one; the package itself imports no logging package, so
// that a pure caller (the coordinator's engine, which passes nil) links
// none.
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
}

// logger is a Logger with attributes added to every event; its zero value
// discards.
type logger struct {
	out   Logger
	attrs []any
}

func newLogger(out Logger, attrs ...any) logger { return logger{out: out, attrs: attrs} }

// Debug logs msg at debug level.
func (l logger) Debug(msg string, args ...any) {
	if l.out != nil {
		l.out.Debug(msg, append(append([]any(nil), l.attrs...), args...)...)
	}
}

// Info logs msg at info level.
func (l logger) Info(msg string, args ...any) {
	if l.out != nil {
		l.out.Info(msg, append(append([]any(nil), l.attrs...), args...)...)
	}
}
