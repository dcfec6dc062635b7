package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/dataset/store"
	"github.com/synthfed/synthfed/internal/config"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

type dataPrepareOpts struct {
	config   string
	storeDir string
	size     int
	bits     int
	quiet    bool
}

func newDataPrepareCmd() *cobra.Command {
	var o dataPrepareOpts
	cmd := &cobra.Command{
		Use:   "prepare --config site.toml",
		Short: "Decode and preprocess a site's images once into its on-disk store (data.store_dir)",
		Long: `Loads the site's data as the agent does (the [data] table of its config:
format, path, image_size, store_dir), decodes and preprocesses every image at
the training size once, and writes them into checksummed chunk files under
store_dir that trainers memory-map. It is incremental (unchanged files are
kept, changed and added ones done), resumable (a killed run keeps every
committed chunk) and checked (a corrupt or truncated chunk is reported and
rebuilt). A progress line shows images/s and the ETA on stderr. Problems are
listed with file:line as by data check; exit 1 if any row or image was
dropped, 2 on a bad config. The agent prepares the store itself on first use
when this was not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDataPrepare(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "site agent TOML file (its [data] table is used)")
	f.StringVar(&o.storeDir, "store-dir", "", "store folder (overrides data.store_dir)")
	f.IntVar(&o.size, "size", 0, "image side (overrides data.image_size)")
	f.IntVar(&o.bits, "pixel-bits", 0, "8 or 16 (overrides data.store_pixel_bits)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress line")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// prepareConfig reads the [data] table of a site config: defaults < file
// < flags; other tables of the file are not checked here.
func prepareConfig(cmd *cobra.Command, o *dataPrepareOpts) (siteagent.DataConfig, error) {
	file := siteFile{Config: siteagent.DefaultConfig()}
	if err := config.LoadFile(o.config, &file); err != nil {
		return file.Data, err
	}
	d := file.Data
	d.Resolve(filepath.Dir(o.config))
	fl := cmd.Flags()
	if fl.Changed("store-dir") {
		d.StoreDir = o.storeDir
	}
	if fl.Changed("size") {
		d.ImageSize = o.size
	}
	if fl.Changed("pixel-bits") {
		d.StorePixelBits = o.bits
	}
	var errs []error
	if !d.Enabled() {
		errs = append(errs, errors.New("the config has no [data] table with format and path"))
	}
	if d.StoreDir == "" {
		errs = append(errs, errors.New("data.store_dir is not set (or pass --store-dir)"))
	}
	return d, errors.Join(append(errs, d.Validate())...)
}

func runDataPrepare(cmd *cobra.Command, o *dataPrepareOpts) error {
	log, err := stderrLogger()
	if err != nil {
		return err
	}
	d, err := prepareConfig(cmd, o)
	if err != nil {
		return withExitCode(2, err)
	}
	errOut := cmd.ErrOrStderr()
	var progress func(store.Progress)
	if !o.quiet {
		progress = func(p store.Progress) {
			end := "\r"
			if p.Final {
				end = "\n"
			}
			fmt.Fprint(errOut, p.String()+end)
		}
	}
	p, err := siteagent.PrepareStore(cmd.Context(), d, progress, log)
	out := cmd.OutOrStdout()
	if p != nil && p.Report != nil {
		writePrepareSummary(out, d, p)
	}
	if err != nil {
		if errors.Is(err, store.ErrDiskFull) {
			return withExitCode(1, fmt.Errorf("data prepare: %w", err))
		}
		return withExitCode(1, err)
	}
	defer p.Store.Close()
	if p.Report.Failed() {
		return withExitCode(1, fmt.Errorf("data prepare: %d problems dropped data", p.Report.Errors()))
	}
	return nil
}

// writePrepareSummary prints what was done and every problem.
func writePrepareSummary(out io.Writer, d siteagent.DataConfig, p *siteagent.Prepared) {
	s := p.Stats
	dir := store.FolderFor(d.StoreConfig())
	fmt.Fprintf(out, "store: %s (%dx%d, %d-bit pixels, %d bytes per image)\n", dir, d.ImageSize, d.ImageSize, d.StorePixelBits, s.BytesPerImage)
	fmt.Fprintf(out, "records: %d, in the store: %d (reused %d, decoded %d, same content as a stored file %d, unreadable %d)\n",
		s.Records, s.Kept, s.Reused, s.Decoded, s.Deduplicated, s.Unreadable)
	if s.Elapsed > 0 && s.Decoded > 0 {
		fmt.Fprintf(out, "decoded %.0f images/s; %d chunks written, %d unused chunks removed\n", float64(s.Decoded)/s.Elapsed.Seconds(), s.Chunks, s.Removed)
	}
	for _, err := range s.Corrupt {
		fmt.Fprintf(out, "corrupt store file (rebuilt): %v\n", err)
	}
	_ = p.Report.WriteSummary(out)
}
