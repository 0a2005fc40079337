// Loads the native addon through the loader `napi build` generates (index.js at the
// package root): a local build next to it, else the prebuilt binary of this platform's
// optional package (slotmetrics-linux-x64-gnu, …). When neither loads, the error says which package is
// missing and how to build from source, instead of the loader's generic message; when the
// addon loaded but refused to start, the error is its own.

import type * as Binding from '../../index.js';

/** This machine's platform as napi-rs names packages: `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
function platformName(): string {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** glibc reports its version in a diagnostic report; musl (Alpine) has none. */
function isMusl(): boolean {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return report?.header !== undefined && report.header.glibcVersionRuntime === undefined;
  } catch {
    return false;
  }
}

function isInstalled(name: string): boolean {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** What went wrong, and what to do about it, for this platform. */
function missingBindingMessage(platform: string): string {
  // The platform packages are this package's optional dependencies, at its own version.
  const { version, optionalDependencies } = require('../../package.json') as { version: string; optionalDependencies: Record<string, string> };
  const published = Object.keys(optionalDependencies).map((name) => name.replace(/^slotmetrics-/, ''));
  const name = `slotmetrics-${platform}`;
  const fromSource =
    'To build it from source instead (needs a Rust toolchain): clone the slotmetrics repository, run ' +
    '`./scripts/setup.sh`, and set NAPI_RS_NATIVE_LIBRARY_PATH to the slotmetrics.' +
    `${platform}.node it builds (or copy that file next to slotmetrics' index.js).`;
  if (!published.includes(platform)) {
    return `slotmetrics has no prebuilt binary for ${platform} (it ships ${published.join(', ')}). ${fromSource}`;
  }
  if (isInstalled(name)) {
    return `slotmetrics: the package ${name} is installed but its binary failed to load (see the cause). ${fromSource}`;
  }
  return (
    `slotmetrics: the package ${name}, which holds the prebuilt binary for this platform, is not installed. ` +
    'It is an optional dependency: `--omit=optional` (or `--no-optional`) leaves it out, and npm can skip it when ' +
    `package-lock.json was written on another platform; install it (\`npm install ${name}@${version}\`), or remove ` +
    `node_modules and package-lock.json and install again. ${fromSource}`
  );
}

/**
 * The addon's own refusal to start, when it loaded but could not join the multi-process
 * group SLOTMETRICS_MULTIPROCESS_DIR names: its message starts with the variable. The
 * loader keeps only the messages of the errors it met, chained through `cause`.
 */
function refusalToStart(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e.message.startsWith('SLOTMETRICS_MULTIPROCESS_DIR')) return `slotmetrics: ${e.message}`;
  }
  return undefined;
}

function load(): typeof Binding {
  try {
    return require('../../index.js');
  } catch (error) {
    throw new Error(refusalToStart(error) ?? missingBindingMessage(platformName()), { cause: error });
  }
}

export const binding: typeof Binding = load();
