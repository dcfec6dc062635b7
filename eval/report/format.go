package report

import (
	"fmt"
	"time"
)

// num formats an optional number, "n/a" when absent.
func num(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

// auroc formats an AUROC with its CI.
func auroc(v *float64, ci *CI) string {
	if v == nil {
		return "n/a"
	}
	if ci == nil {
		return fmt.Sprintf("%.3f", *v)
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", *v, ci.Lo, ci.Hi)
}

// pval formats a p-value, "<0.001" below a thousandth.
func pval(v *float64) string {
	switch {
	case v == nil:
		return "n/a"
	case *v < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", *v)
}

// pct formats k of n as a percentage.
func pct(k, n int) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(k)/float64(n))
}

// seconds formats a duration given in seconds.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}
