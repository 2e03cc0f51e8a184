import { describe, expect, test } from "vitest";
import { LOCAL_ENVIRONMENT as CONTRACT_LOCAL_ENVIRONMENT } from "@axon/control-plane/api";
import { isRemoteEnvironment, LOCAL_ENVIRONMENT } from "./local-environment.js";

describe("the local environment's name in the CLI", () => {
  test("is the daemon's name for it", () => {
    // Given the contract's constant, Then the CLI's copy is the same string at run time
    expect(LOCAL_ENVIRONMENT).toBe(CONTRACT_LOCAL_ENVIRONMENT);
  });

  test("only a given --env other than local is remote", () => {
    // When --env is absent or `local`, Then nothing remote is targeted; any other name is
    expect(isRemoteEnvironment(undefined)).toBe(false);
    expect(isRemoteEnvironment(LOCAL_ENVIRONMENT)).toBe(false);
    expect(isRemoteEnvironment("demo")).toBe(true);
    expect(isRemoteEnvironment("Local")).toBe(true);
  });
});
