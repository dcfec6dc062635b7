package report

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Document is a rendered report: sections of text, tables and figures, and
// the PNG images the figures show.
type Document struct {
	// Title heads the report.
	Title string
	// Sections holds the report's sections in order.
	Sections []Section
	// Images holds PNG files by name (for example "e1-internal.png").
	Images map[string][]byte
	// order lists image names in insertion order.
	order []string
}

// Section is one headed part of the report.
type Section struct {
	// ID is the HTML anchor.
	ID string
	// Title is the heading.
	Title string
	// Blocks holds the content.
	Blocks []Block
}

// Block is one piece of content; exactly one field is set.
type Block struct {
	// Para is a paragraph of plain text.
	Para string
	// Heading is a sub-heading.
	Heading string
	// List is a bulleted list.
	List []string
	// Table is a table.
	Table *Table
	// Figure shows one image of Document.Images.
	Figure *Figure
	// Code is preformatted text.
	Code string
}

// Table is a table of plain-text cells.
type Table struct {
	// Header holds the column titles.
	Header []string
	// Rows holds the cells, one slice per row.
	Rows [][]string
}

// Figure is an image with its caption.
type Figure struct {
	// Name is the key in Document.Images.
	Name string
	// Caption describes the figure.
	Caption string
}

// addImage stores a PNG under a unique name and returns the figure block.
func (d *Document) addImage(name string, png []byte, caption string) Block {
	if d.Images == nil {
		d.Images = map[string][]byte{}
	}
	base, n := name, 2
	for d.Images[name] != nil {
		name = fmt.Sprintf("%s-%d", base, n)
		n++
	}
	d.Images[name] = png
	d.order = append(d.order, name)
	return Block{Figure: &Figure{Name: name, Caption: caption}}
}

// ImageNames lists the images in the order they were added.
func (d *Document) ImageNames() []string { return append([]string(nil), d.order...) }

// WriteMarkdown writes the report as Markdown; figures refer to
// imageDir/<name>.png.
func (d *Document) WriteMarkdown(w io.Writer, imageDir string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n", d.Title)
	for _, s := range d.Sections {
		fmt.Fprintf(bw, "## %s\n\n", s.Title)
		for _, b := range s.Blocks {
			writeMarkdownBlock(bw, b, imageDir)
		}
	}
	return bw.Flush()
}

func writeMarkdownBlock(w *bufio.Writer, b Block, imageDir string) {
	switch {
	case b.Heading != "":
		fmt.Fprintf(w, "### %s\n\n", b.Heading)
	case b.Para != "":
		fmt.Fprintf(w, "%s\n\n", b.Para)
	case b.List != nil:
		for _, it := range b.List {
			fmt.Fprintf(w, "- %s\n", it)
		}
		w.WriteString("\n")
	case b.Table != nil:
		mdRow(w, b.Table.Header)
		seps := make([]string, len(b.Table.Header))
		for i := range seps {
			seps[i] = "---"
		}
		mdRow(w, seps)
		for _, r := range b.Table.Rows {
			mdRow(w, r)
		}
		w.WriteString("\n")
	case b.Figure != nil:
		alt := strings.NewReplacer("[", "", "]", "").Replace(mdCell(b.Figure.Caption))
		fmt.Fprintf(w, "![%s](%s/%s.png)\n\n*%s*\n\n", alt, imageDir, b.Figure.Name, b.Figure.Caption)
	case b.Code != "":
		fence := "```"
		for strings.Contains(b.Code, fence) {
			fence += "`"
		}
		fmt.Fprintf(w, "%s\n%s\n%s\n\n", fence, strings.TrimRight(b.Code, "\n"), fence)
	}
}

func mdRow(w *bufio.Writer, cells []string) {
	w.WriteString("|")
	for _, c := range cells {
		fmt.Fprintf(w, " %s |", mdCell(c))
	}
	w.WriteString("\n")
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

const htmlStyle = `body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}
th{background:#eee}figure{margin:1em 0}img{max-width:100%}figcaption{font-style:italic;color:#555}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}nav li{display:inline;margin-right:1em}`

// WriteHTML writes the report as one self-contained HTML page: styles
// inline and every image embedded as a data: URI.
func (d *Document) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	e := html.EscapeString
	fmt.Fprintf(bw, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<h1>%s</h1>\n<nav><ul>", e(d.Title), htmlStyle, e(d.Title))
	for _, s := range d.Sections {
		fmt.Fprintf(bw, "<li><a href=\"#%s\">%s</a></li>", e(s.ID), e(s.Title))
	}
	bw.WriteString("</ul></nav>\n")
	for _, s := range d.Sections {
		fmt.Fprintf(bw, "<section id=\"%s\">\n<h2>%s</h2>\n", e(s.ID), e(s.Title))
		for _, b := range s.Blocks {
			d.writeHTMLBlock(bw, b)
		}
		bw.WriteString("</section>\n")
	}
	bw.WriteString("</body>\n</html>\n")
	return bw.Flush()
}

func (d *Document) writeHTMLBlock(w *bufio.Writer, b Block) {
	e := html.EscapeString
	switch {
	case b.Heading != "":
		fmt.Fprintf(w, "<h3>%s</h3>\n", e(b.Heading))
	case b.Para != "":
		fmt.Fprintf(w, "<p>%s</p>\n", e(b.Para))
	case b.List != nil:
		w.WriteString("<ul>\n")
		for _, it := range b.List {
			fmt.Fprintf(w, "<li>%s</li>\n", e(it))
		}
		w.WriteString("</ul>\n")
	case b.Table != nil:
		w.WriteString("<table>\n<tr>")
		for _, h := range b.Table.Header {
			fmt.Fprintf(w, "<th>%s</th>", e(h))
		}
		w.WriteString("</tr>\n")
		for _, r := range b.Table.Rows {
			w.WriteString("<tr>")
			for _, c := range r {
				fmt.Fprintf(w, "<td>%s</td>", e(c))
			}
			w.WriteString("</tr>\n")
		}
		w.WriteString("</table>\n")
	case b.Figure != nil:
		fmt.Fprintf(w, "<figure><img alt=\"%s\" src=\"data:image/png;base64,%s\"><figcaption>%s</figcaption></figure>\n",
			e(b.Figure.Caption), base64.StdEncoding.EncodeToString(d.Images[b.Figure.Name]), e(b.Figure.Caption))
	case b.Code != "":
		fmt.Fprintf(w, "<pre>%s</pre>\n", e(b.Code))
	}
}

// Output file names inside the directory given to WriteDir.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	PlotDir      = "plots"
)

// WriteDir writes report.md, report.html and plots/<name>.png into dir,
// creating it.
func (d *Document) WriteDir(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, PlotDir), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for name, png := range d.Images {
		p := filepath.Join(dir, PlotDir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	write := func(name string, f func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		out, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := f(out); err != nil {
			out.Close()
			return fmt.Errorf("report %s: %w", p, err)
		}
		return out.Close()
	}
	if err := write(MarkdownFile, func(w io.Writer) error { return d.WriteMarkdown(w, PlotDir) }); err != nil {
		return err
	}
	return write(HTMLFile, d.WriteHTML)
}
