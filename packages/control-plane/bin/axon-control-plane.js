#!/usr/bin/env node
// The `axon-control-plane` command: a committed, executable entry so npm links it before the first build.
await import("../dist/main.js");
