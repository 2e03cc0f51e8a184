/** The Axon release this control plane belongs to (the CLI prints it next to its own). */
export const AXON_VERSION = "0.1.0";
