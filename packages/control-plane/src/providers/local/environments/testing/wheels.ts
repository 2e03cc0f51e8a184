/**
 * Test helper: writes a tiny pure-Python wheel by hand (no build backend, no network), so tests can
 * install real packages with `pip --no-index --find-links <dir>`. Reused by end-to-end tests.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";

/**
 * Writes `<dir>/<name>-<version>-py3-none-any.whl` holding a package `<name>` whose `__init__.py`
 * sets `__version__ = "<version>"`, with valid METADATA, WHEEL and RECORD (sha256 hashes).
 * `name` must be a valid Python identifier in lower case. Returns the wheel's path.
 * Uses `python` (default `python3`) only to write the zip.
 */
export function buildTinyWheel(
  dir: string,
  name: string,
  version: string,
  python = "python3",
): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`buildTinyWheel: "${name}" is not a lower-case identifier`);
  if (!/^[0-9][0-9a-z.+]*$/.test(version))
    throw new Error(`buildTinyWheel: "${version}" is not a plain version`);
  const wheel = path.join(dir, `${name}-${version}-py3-none-any.whl`);
  const script = `
import base64, hashlib, sys, zipfile
wheel, name, version = sys.argv[1:4]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"__version__ = {version!r}\\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\nSummary: tiny test package\\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: axon-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = []
with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
    for arcname, text in files.items():
        data = text.encode()
        zf.writestr(arcname, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    zf.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")
`;
  execFileSync(python, ["-c", script, wheel, name, version], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return wheel;
}
