"""stepsize: adaptive step-size control."""
