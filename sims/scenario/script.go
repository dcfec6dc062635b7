package scenario

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Directive is one command of a script with its expected output.
type Directive struct {
	// Line is the command's line number in the file.
	Line int
	// Cmd is the command name; Args its key=value (or bare) arguments.
	Cmd  string
	Args map[string]string
	// Pos lists bare positional arguments in order.
	Pos []string
	// Raw is the command line as written.
	Raw string
	// Comment holds the comment lines written above the command.
	Comment string
	// Expected is the output the command must produce.
	Expected string
}

// Parse reads a script: comments (#) and blank lines between directives,
// then for each directive a command line, "----", and output lines up to
// a blank line or the end.
func Parse(r io.Reader, name string) ([]Directive, error) {
	sc := bufio.NewScanner(r)
	var out []Directive
	var comment []string
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			comment = append(comment, text)
			continue
		}
		d, err := parseCommand(text, line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		d.Comment, comment = strings.Join(comment, "\n"), nil
		if !sc.Scan() || strings.TrimSpace(sc.Text()) != "----" {
			return nil, fmt.Errorf("%s:%d: command %q is not followed by ----", name, line, d.Cmd)
		}
		line++
		var exp []string
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				break
			}
			exp = append(exp, sc.Text())
		}
		d.Expected = strings.Join(exp, "\n")
		out = append(out, d)
	}
	return out, sc.Err()
}

func parseCommand(text string, line int) (Directive, error) {
	f := strings.Fields(text)
	d := Directive{Line: line, Cmd: f[0], Args: map[string]string{}, Raw: text}
	for _, a := range f[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			d.Pos = append(d.Pos, a)
			d.Args[a] = ""
			continue
		}
		if _, dup := d.Args[k]; dup {
			return d, fmt.Errorf("argument %q given twice", k)
		}
		d.Args[k] = v
	}
	return d, nil
}

// Format writes directives back with their comments and the given
// outputs, for -rewrite.
func Format(w io.Writer, ds []Directive, outputs []string) error {
	bw := bufio.NewWriter(w)
	for i, d := range ds {
		if d.Comment != "" {
			fmt.Fprintln(bw, d.Comment)
		}
		fmt.Fprintln(bw, d.Raw)
		fmt.Fprintln(bw, "----")
		if outputs[i] != "" {
			fmt.Fprintln(bw, outputs[i])
		}
		if i < len(ds)-1 {
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

// arg returns a string argument or def.
func (d *Directive) arg(k, def string) string {
	if v, ok := d.Args[k]; ok {
		return v
	}
	return def
}

// int returns an integer argument or def.
func (d *Directive) int(k string, def int) (int, error) {
	v, ok := d.Args[k]
	if !ok {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil {
		return 0, fmt.Errorf("%s=%q: not an integer", k, v)
	}
	return n, nil
}

// dur returns a duration argument or def.
func (d *Directive) dur(k string, def time.Duration) (time.Duration, error) {
	v, ok := d.Args[k]
	if !ok {
		return def, nil
	}
	x, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %v", k, v, err)
	}
	return x, nil
}

// site returns the required site argument.
func (d *Directive) site() (string, error) {
	s, ok := d.Args["site"]
	if !ok || s == "" {
		return "", fmt.Errorf("%s needs site=NAME", d.Cmd)
	}
	return s, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
