// The Debian packages the interop and end-to-end tests need. The test runner calls ensureSystemDeps()
// before running those tests: as root it installs what is missing; otherwise it stops with the exact
// apt-get line to run. Nothing is ever skipped silently.
import { spawnSync } from 'node:child_process';

export const SYSTEM_PACKAGES = [
  'kamailio', // registrar, proxy and MSRP relay for the end-to-end tests
  'libotr5-dev', // libotr 4.1.1: the C OTR peer used in interop tests and benchmarks
  'libotr5-bin', // libotr's toolkit (otr_parse ...) for differential checks
  'python3-potr', // python-potr 1.0.2: the Python OTR peer
  'python3-pycryptodome',
  'gcc',
  'libc6-dev',
  'tmux', // terminal UI tests
  'tcpdump', // captures the MSRP bytes on loopback to show no user text crosses in the clear
  'ffmpeg', // reference G.722 and G.711 codecs: src/rtp's must match them bit for bit
  'baresip-core', // an independent SIP + RTP/SRTP (SDES) peer: src/rtp's interop test and the calls through Kamailio
];

export function missingPackages(pkgs = SYSTEM_PACKAGES) {
  return pkgs.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

export function aptLine(pkgs) {
  return `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
}

export function ensureSystemDeps(pkgs = SYSTEM_PACKAGES) {
  const missing = missingPackages(pkgs);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`These tests need Debian packages that are not installed: ${missing.join(', ')}.`);
    console.error(`Install them as root, then run the tests again:\n\n  sudo ${aptLine(missing)}\n`);
    process.exit(1);
  }
  console.error(`installing ${missing.join(' ')} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const up = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const inst = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
  if (up.status !== 0 || inst.status !== 0 || missingPackages(missing).length > 0) {
    console.error(`Could not install ${missing.join(' ')}. Run as root:\n\n  ${aptLine(missing)}\n`);
    process.exit(1);
  }
}
