#!/usr/bin/env node
// The `axon-replica` command (the replica image's entrypoint): its inputs are environment variables,
// see src/entrypoint/replica-env.ts.
const { main } = await import("../dist/entrypoint/main.js");
// Exit explicitly: a replica that failed to start must not linger on a half-closed handle.
process.exit(await main());
