/**
 * Kubernetes resource quantities (`compute.cpu`, `compute.mem`), parsed with the same grammar as
 * `resource.ParseQuantity` so Cortex files mean exactly what they meant on a cluster:
 *
 *   quantity ::= [+-] number [suffix]
 *   number   ::= digits | digits "." [digits] | "." digits
 *   suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei            (powers of 1024)
 *              | n | u | m | k | M | G | T | P | E     (powers of 1000)
 *              | (e | E) [+-] digits                   (decimal exponent)
 */

const QUANTITY_PATTERN =
  /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

const BINARY_EXPONENTS: Readonly<Record<string, number>> = {
  Ki: 10,
  Mi: 20,
  Gi: 30,
  Ti: 40,
  Pi: 50,
  Ei: 60,
};

const DECIMAL_EXPONENTS: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/**
 * Parses a Kubernetes quantity into its plain value: cores for a CPU quantity (`200m` → 0.2),
 * bytes for a memory quantity (`500Mi` → 524288000).
 *
 * @throws Error with the message "<text>: invalid quantity, some valid examples are 1, 200m, 500Mi, 2G"
 */
export function parseQuantity(text: string): number {
  const match = QUANTITY_PATTERN.exec(text);
  const numberPart = match?.[1];
  if (match === null || numberPart === undefined) {
    throw new Error(`${text}: invalid quantity, some valid examples are 1, 200m, 500Mi, 2G`);
  }
  const suffix = match[2] ?? "";
  const binary = BINARY_EXPONENTS[suffix];
  if (binary !== undefined) {
    // Multiplying by a power of two is exact in binary floating point.
    return Number(numberPart) * 2 ** binary;
  }
  // Decimal scaling goes through the number parser ("200e-3") rather than a multiplication so
  // that `200m` is exactly the double nearest 0.2, as it would be if written as 0.2.
  const exponent =
    suffix === "" ? 0 : (DECIMAL_EXPONENTS[suffix] ?? Number.parseInt(suffix.slice(1), 10));
  return Number(`${numberPart}e${exponent}`);
}
