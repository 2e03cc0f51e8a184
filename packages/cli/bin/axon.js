#!/usr/bin/env node
// The `axon` command: a committed, executable entry so npm links it before the first build.
const { main } = await import("../dist/main.js");
await main();
