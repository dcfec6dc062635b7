package main

// modelCases are the whole-model cases: the U-Net training step at two
// sizes, the classifier training step and DDIM sampling. They are added as
// model/ddpm and model/classifier expose their step functions.
func modelCases() []benchCase { return nil }
