package siteagent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/sims/phantom"
	siteagent "github.com/synthfed/synthfed/site-agent"
)

// A held-out test folder (data.test_path) joins the test set after the
// patient-level split, leaves the training and validation sets as they
// were, and is refused when it shares a patient with the site's folder.
func TestHeldOutTestFolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pc := phantom.DefaultConfig()
	pc.Size, pc.Supersample = 8, 1
	own, err := pc.WriteSite(ctx, dir, 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	held, err := pc.WriteHeldOut(ctx, dir, 0, 40)
	if err != nil {
		t.Fatal(err)
	}
	cfg := siteagent.DefaultDataConfig()
	cfg.Format, cfg.Path, cfg.ImageSize = "chexpert", own.Dir, 8
	base, err := siteagent.LoadSiteData(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TestPath = held.Dir
	with, err := siteagent.LoadSiteData(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if with.Train.Images.Len() != base.Train.Images.Len() || with.Val.Images.Len() != base.Val.Images.Len() {
		t.Errorf("train/val %d/%d with a held-out folder, %d/%d without", with.Train.Images.Len(), with.Val.Images.Len(), base.Train.Images.Len(), base.Val.Images.Len())
	}
	if got, want := with.Test.Images.Len(), base.Test.Images.Len()+40; got != want || len(with.Test.Records) != want || len(with.Test.Images.PatientIDs) != want {
		t.Errorf("test set %d images, %d records, %d patient IDs; want %d", got, len(with.Test.Records), len(with.Test.Images.PatientIDs), want)
	}
	for _, r := range with.Test.Records[base.Test.Images.Len():] {
		if !strings.HasPrefix(r.Path, filepath.Base(held.Dir)+"/") {
			t.Fatalf("held-out record %s not from %s", r.Path, held.Dir)
		}
	}
	if with.TestReport == nil || with.TestReport.Errors() != 0 {
		t.Errorf("held-out report %v", with.TestReport)
	}

	// The site's own folder as its test folder shares every patient.
	cfg.TestPath = own.Dir
	_, err = siteagent.LoadSiteData(ctx, cfg, nil, nil)
	if !errors.Is(err, dataset.ErrSplit) || !strings.Contains(err.Error(), "unseen patients") {
		t.Errorf("overlapping held-out folder: %v", err)
	}
	cfg.TestPath = filepath.Join(dir, "missing")
	if _, err := siteagent.LoadSiteData(ctx, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "data.test_path") {
		t.Errorf("missing held-out folder: %v", err)
	}
	_ = os.RemoveAll(dir)
}
