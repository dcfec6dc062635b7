package main

import (
	"fmt"
	"image"
	"image/png"
	"os"

	"github.com/spf13/cobra"

	"github.com/synthfed/synthfed/dataset"
)

func init() { register(newDataCmd) }

// newDataCmd is `synthfed data`, hospital IT's tools for a site's data.
func newDataCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "data",
		Short: "Check a site's chest X-ray data before it joins, and inspect preprocessing",
	}
	c.AddCommand(newDataCheckCmd(), newDataShowCmd(), newDataPrepareCmd())
	return c
}

type dataCheckOpts struct {
	format       string
	demographics string
	config       string
	size         int
	allViews     bool
	strict       bool
	noImages     bool
}

func newDataCheckCmd() *cobra.Command {
	var o dataCheckOpts
	cmd := &cobra.Command{
		Use:   "check --format chexpert|mimic|manifest PATH",
		Short: "Load a site's data as the agent would and print a summary and every problem",
		Long: `Loads PATH as the site agent does (frontal views only unless --all-views),
decodes and preprocesses every image, and prints: records, patients, views,
AP/PA, splits, sex, race and age mix, label prevalence, then each problem with
file:line and reason. Exits 1 if any row, image or file was dropped; warnings
(data kept) do not fail the check.

PATH is, for chexpert, a folder with train.csv/valid.csv or one CSV; for
mimic, the MIMIC-CXR-JPG root; for manifest, the manifest CSV.
--demographics names the CheXpert demographics CSV, or for mimic the folder
holding MIMIC-IV patients.csv and admissions.csv.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runDataCheck(cmd, &o, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "", "chexpert, mimic or manifest (required)")
	f.StringVar(&o.demographics, "demographics", "", "demographics CSV (chexpert) or patients/admissions folder (mimic)")
	f.StringVar(&o.config, "config", "", "dataset TOML config (defaults < file < flags)")
	f.IntVar(&o.size, "size", 0, "preprocessed image side (default from config)")
	f.BoolVar(&o.allViews, "all-views", false, "keep lateral views too")
	f.BoolVar(&o.strict, "strict", false, "stop at the first problem")
	f.BoolVar(&o.noImages, "no-images", false, "check the CSVs and that images exist, without decoding them")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}

// dataConfig applies defaults < file < flags.
func dataConfig(cmd *cobra.Command, path string, size int, strict, allViews bool) (dataset.Config, error) {
	cfg := dataset.DefaultConfig()
	var err error
	if path != "" {
		if cfg, err = dataset.LoadConfig(path); err != nil {
			return cfg, withExitCode(2, err)
		}
	}
	fl := cmd.Flags()
	if fl.Changed("size") {
		cfg.Size = size
	}
	if fl.Changed("strict") {
		cfg.Strict = strict
	}
	if fl.Changed("all-views") {
		cfg.FrontalOnly = !allViews
	}
	if err := cfg.Validate(); err != nil {
		return cfg, withExitCode(2, err)
	}
	return cfg, nil
}

func runDataCheck(cmd *cobra.Command, o *dataCheckOpts, path string) error {
	log, err := stderrLogger()
	if err != nil {
		return err
	}
	format, err := dataset.ParseFormat(o.format)
	if err != nil {
		return withExitCode(2, err)
	}
	cfg, err := dataConfig(cmd, o.config, o.size, o.strict, o.allViews)
	if err != nil {
		return err
	}
	ds, err := dataset.Load(cmd.Context(), dataset.Source{Format: format, Path: path, Demographics: o.demographics}, cfg, log)
	if err != nil && ds == nil {
		return withExitCode(2, err)
	}
	recs := ds.Records
	if err == nil && !o.noImages {
		recs, err = dataset.CheckImages(cmd.Context(), ds.Records, cfg, ds.Report)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "source: %s %s (%d rows read, %d filtered out by view)\n", format, path, ds.Report.Rows(), ds.Report.Filtered())
	if werr := dataset.Summarize(recs).Write(out); werr != nil {
		return werr
	}
	if werr := ds.Report.WriteSummary(out); werr != nil {
		return werr
	}
	if err != nil {
		return withExitCode(1, err)
	}
	if ds.Report.Failed() {
		return withExitCode(1, fmt.Errorf("data check: %d problems dropped data", ds.Report.Errors()))
	}
	return nil
}

type dataShowOpts struct {
	size int
	out  string
}

func newDataShowCmd() *cobra.Command {
	var o dataShowOpts
	cmd := &cobra.Command{
		Use:   "show IMAGE --size S --png OUT",
		Short: "Write one image after the study's preprocessing as a PNG (PNG, JPEG or DICOM input)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return runDataShow(cmd, &o, args[0]) },
	}
	cmd.Flags().IntVar(&o.size, "size", 0, "output side in pixels (required)")
	cmd.Flags().StringVar(&o.out, "png", "", "output PNG file (required)")
	_ = cmd.MarkFlagRequired("size")
	_ = cmd.MarkFlagRequired("png")
	return cmd
}

func runDataShow(cmd *cobra.Command, o *dataShowOpts, path string) error {
	if o.size < 1 || o.size > 4096 {
		return withExitCode(2, fmt.Errorf("--size %d: want 1 to 4096", o.size))
	}
	g, err := dataset.ReadImage(path)
	if err != nil {
		return withExitCode(1, fmt.Errorf("%s: %w", path, err))
	}
	pix, constant := dataset.Preprocess(g, o.size)
	img := image.NewGray(image.Rect(0, 0, o.size, o.size))
	for i, v := range pix {
		img.Pix[i] = uint8((v+1)*127.5 + 0.5)
	}
	f, err := os.Create(o.out)
	if err != nil {
		return withExitCode(1, err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return withExitCode(1, err)
	}
	if err := f.Close(); err != nil {
		return withExitCode(1, err)
	}
	note := ""
	if constant {
		note = " (constant image: all -1)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %dx%d -> %s %dx%d%s\n", path, g.Width, g.Height, o.out, o.size, o.size, note)
	return nil
}
