/** Header lookups on the request hot path. */

/**
 * The first value of header `lowerName` from `rawHeaders` (name, value, name, value, …, as a
 * FrontRequest carries them), found without building a headers object per request.
 */
export function rawHeader(rawHeaders: readonly string[], lowerName: string): string | undefined {
  const length = lowerName.length;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === length && (name === lowerName || name.toLowerCase() === lowerName)) {
      return rawHeaders[i + 1];
    }
  }
  return undefined;
}
