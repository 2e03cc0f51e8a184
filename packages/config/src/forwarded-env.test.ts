import { describe, expect, test } from "vitest";
import { isForwardedAwsVariable, pickForwardedAwsVariables } from "./forwarded-env.js";

describe("forwarded AWS variables", () => {
  test("picks the standard AWS settings and nothing else", () => {
    const picked = pickForwardedAwsVariables({
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:5000",
      AWS_EMPTY: "",
      AWS_PROFILE: "",
      HOME: "/root",
      AWS_SOMETHING_ELSE: "x",
    });
    expect(picked).toEqual({
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:5000",
    });
  });

  test("rejects look-alikes", () => {
    expect(isForwardedAwsVariable("AWS_ENDPOINT_URL_")).toBe(false);
    expect(isForwardedAwsVariable("aws_access_key_id")).toBe(false);
    expect(isForwardedAwsVariable("AWS_CONFIG_FILE")).toBe(true);
  });
});
