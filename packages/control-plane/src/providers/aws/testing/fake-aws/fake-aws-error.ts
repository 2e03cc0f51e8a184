/** The rules fake's errors (fake-aws.ts, fake-sqs.ts): shaped as the AWS SDK throws them. */

/** An AWS error as the SDK throws it: `name` is AWS's error code. */
export class FakeAwsError extends Error {
  readonly $fault = "client";
  readonly $metadata = { httpStatusCode: 400 };
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}
