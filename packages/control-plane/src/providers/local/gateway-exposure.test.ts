import { describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import {
  GATEWAY_EXPOSED_WITHOUT_AUTH,
  isLoopbackHost,
  parseListenAddress,
  requireKeysBeyondLoopback,
} from "./gateway-exposure.js";

const keyed = { name: "iris", auth: "api_key" };
const open = { name: "open-api", auth: "none" };
/** A version stored before `networking.auth` existed. */
const older = { name: "older", auth: undefined };

describe("serving the gateway beyond loopback", () => {
  it("Given --listen text, When parsed, Then IPv4, IPv6 and localhost with a port are read and anything else names the flag", () => {
    expect(parseListenAddress("0.0.0.0:8888")).toEqual({ host: "0.0.0.0", port: 8888 });
    expect(parseListenAddress("[::]:80")).toEqual({ host: "::", port: 80 });
    expect(parseListenAddress("localhost:9000")).toEqual({ host: "localhost", port: 9000 });
    for (const bad of ["8888", "0.0.0.0", "example.com:80", "0.0.0.0:0", "0.0.0.0:70000"]) {
      expect(() => parseListenAddress(bad)).toThrow(`--listen ${bad} is not ADDRESS:PORT`);
    }
  });

  it("Given addresses, Then only 127.x, ::1 and localhost are loopback", () => {
    expect(["127.0.0.1", "127.0.0.2", "::1", "localhost"].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(["0.0.0.0", "::", "10.0.0.5", "192.168.1.2"].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("Given a gateway beyond loopback, When an API requires no keys, Then it is refused naming the API; with keys everywhere, or on loopback, or with --insecure-no-auth, it is allowed", () => {
    const exposed = { host: "0.0.0.0", insecureNoAuth: false };
    expect(() => requireKeysBeyondLoopback(exposed, [keyed])).not.toThrow();
    expect(() => requireKeysBeyondLoopback(exposed, [])).not.toThrow();
    let refusal: unknown;
    try {
      requireKeysBeyondLoopback(exposed, [keyed, open, older]);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({
      code: GATEWAY_EXPOSED_WITHOUT_AUTH,
      status: 409,
      message:
        "the gateway listens on 0.0.0.0, beyond this machine, and apis open-api, older do not require API keys",
    });
    expect((refusal as DomainError).hint).toContain("networking: {auth: api_key}");
    expect(() =>
      requireKeysBeyondLoopback({ host: "127.0.0.1", insecureNoAuth: false }, [open]),
    ).not.toThrow();
    expect(() =>
      requireKeysBeyondLoopback({ host: "0.0.0.0", insecureNoAuth: true }, [open]),
    ).not.toThrow();
  });
});
