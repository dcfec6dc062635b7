// Package study runs the study's experiments in a simulated federated
// consortium: what `synthfed sim` (and `make sim`) does.
//
// Run executes the phases in order, timing each, and writes results.json
// (the eval/report schema), report.md, report.html and the plots:
//
//   - phantom: RenderConsortium writes the sites as CheXpert folders
//     (sims/phantom) and loads each as its agent does
//     (siteagent.LoadSiteData: patient-level split, problems counted);
//   - ddpm-federated and classifier-fedavg: StartConsortium runs the real
//     coordinator and agents (sims/cluster) over loopback gRPC with mTLS
//     from provisioned kits and secure aggregation; the conditional DDPM
//     and the FedAvg classifier are train jobs built from model_config;
//   - ddpm-site-only: each site's DDPM as a local train job;
//   - sampling: sample jobs draw every site's replicas at the site;
//     ReadReplicas reads each set back, replica-major, so that level L% is
//     a prefix (Replicas.Level) and lower levels nest in higher ones;
//   - classifiers: the Plan deduplicates the classifiers of E1-E4; each
//     site's are local classifier train jobs with data recipes, the
//     researcher's (central pooled, mixed sources) train in-process by the
//     same procedure (Trainer);
//   - evaluation: the Scorer scores every row internally and externally
//     (macro AUROC, patient-bootstrap CIs, DeLong against the baseline);
//   - quality: the Judge (the central classifier) measures every
//     generator's samples (Fréchet distance, precision/recall, fidelity,
//     diversity, memorisation);
//   - report: Findings states whether each of the study's findings
//     reproduced, with the numbers.
//
// Configuration is a Config: embedded profiles (quick, paper, tiny) over
// one base, overlaid strictly by a TOML file (LoadConfig). Calibrate and
// EstimateBudget size a profile by measurement. Progress reports phases,
// rounds, losses and images per second, with a bar on a terminal.
package study
