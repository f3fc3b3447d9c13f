// Runs every self-checking guest in guests/ (built into build/guests/ by scripts/build-guests.mjs)
// bare on the machine AND under the hypervisor, and checks the verdict of each run. For TAP guests
// (the default): no "not ok" line, a plan "1..N" matching the "ok" lines, "# fail 0", and the run
// ends through the debug-exit port with status 1. Transparency: unless the header says otherwise,
// the serial output bare and hypervised must be byte-identical — also with every guest I/O port
// intercepted by a hypapp that passes each access on (exercising the I/O-exit path).
//
// Header lines (first 20 lines, see guests/README.md):
//   ; expect: triple-fault        ; expect-status: N      ; mem: N
//   ; run: hv | bare              (default: both, compared)
//   ; hv-options: kvm             ; hv-hypapps: page-protect
//   ; hv-quirk: NAME              (also run hypervised with the quirk: must triple-fault as in the seed)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { End } from '../machine/machine.js';
import { runGuest, type GuestRun } from './harness/guest.js';
import { tapProblems } from './harness/tap.js';
import type { HypervisorOptions, Quirk } from '../hypervisor/hypervisor.js';
import type { HypApp, PortAccess, PortDecision } from '../hypervisor/hypapp.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import type { VCpu } from '../hypervisor/vcpu.js';
import { PageProtect } from '../hypervisor/hypapps/page-protect.js';

const root = new URL('../..', import.meta.url).pathname;
const srcDir = join(root, 'guests');
const binDir = join(root, 'build', 'guests');

interface Header {
  end: End; status?: number; tap: boolean; memMiB: number;
  bare: boolean; hv: boolean; kvm: boolean; hypapps: string[]; quirk: Quirk | null;
}

export function parseHeader(src: string): Header {
  const head = src.split('\n').slice(0, 20).join('\n');
  const get = (k: string): string | null => { const m = new RegExp(`^;\\s*${k}:\\s*(.+)$`, 'm').exec(head); return m ? m[1].trim() : null; };
  const memMiB = Number(get('mem') ?? 64);
  const run = get('run');
  const base = { memMiB, bare: run !== 'hv', hv: run !== 'bare', kvm: (get('hv-options') ?? '').split(/\s+/).includes('kvm'),
    hypapps: (get('hv-hypapps') ?? '').split(/\s+/).filter(Boolean), quirk: get('hv-quirk') as Quirk | null };
  if (get('expect') === 'triple-fault') return { ...base, end: End.TripleFault, tap: false };
  const st = get('expect-status');
  return { ...base, end: End.DebugExit, status: st !== null ? Number(st) : 1, tap: st === null };
}

/** A hypapp that intercepts every I/O port and passes each access on: the guest must not notice. */
class ChainAllPorts implements HypApp {
  readonly name = 'chain-all-ports';
  seen = 0;
  onBoot(hv: Hypervisor): void { hv.interceptPort(this, 0, 0x10000); }
  onPortAccess(_v: VCpu, _a: PortAccess): PortDecision { this.seen++; return 'chain'; }
}

function hvOptions(h: Header, extra: HypApp[] = []): HypervisorOptions {
  const apps: HypApp[] = h.hypapps.map((n) => {
    if (n === 'page-protect') return new PageProtect();
    throw new Error(`unknown hypapp ${n} in guest header`);
  });
  return { kvm: h.kvm, hypapps: [...apps, ...extra] };
}

function verdict(r: GuestRun, h: Header, what: string): void {
  const ctx = `\n--- ${what}: serial ---\n${r.serial.slice(-3000)}\n--- end: ${r.end} (${r.status}) ${r.message.slice(0, 3000)}`;
  if (h.tap) assert.deepEqual(tapProblems(r.serial), [], `failed checks${ctx}`);
  assert.equal(r.end, h.end, `run ended wrongly${ctx}`);
  if (h.status !== undefined) assert.equal(r.status, h.status, `wrong exit status${ctx}`);
}

const sources = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.asm')).sort() : [];
test('there are test guests to run', () => { assert.ok(sources.length > 0, 'no guests/*.asm found'); });

for (const f of sources) {
  const name = f.replace(/\.asm$/, '');
  const src = readFileSync(join(srcDir, f), 'utf8');
  const elf = /^;\s*format:\s*elf/m.test(src.split('\n')[0]);
  const bin = join(binDir, name + (elf ? '.elf' : '.bin'));
  const h = parseHeader(src);
  const image = (): Uint8Array => {
    assert.ok(existsSync(bin), `${bin} missing: run node scripts/build-guests.mjs`);
    return new Uint8Array(readFileSync(bin));
  };
  test(`guest ${name}${h.bare && h.hv ? ' (bare and hypervised, identical)' : h.hv ? ' (hypervised)' : ' (bare)'}`, () => {
    const img = image();
    const bare = h.bare ? runGuest(img, { memMiB: h.memMiB }) : null;
    if (bare) verdict(bare, h, 'bare');
    if (!h.hv) return;
    const hv = runGuest(img, { memMiB: h.memMiB, hypervisor: hvOptions(h) });
    verdict(hv, h, 'hypervised');
    if (bare) {
      assert.equal(hv.serial, bare.serial, 'transparency: the serial output differs bare vs hypervised');
      // Every port access through the I/O-exit path, passed on by a hypapp: still identical.
      const chain = new ChainAllPorts();
      const io = runGuest(img, { memMiB: h.memMiB, hypervisor: hvOptions(h, [chain]) });
      verdict(io, h, 'hypervised, all ports intercepted');
      assert.equal(io.serial, bare.serial, 'transparency: the serial output differs with every port intercepted');
      assert.ok(chain.seen > 0, 'the port-intercepting hypapp saw no access');
    }
  });
  if (h.quirk !== null) {
    test(`guest ${name} hypervised with --quirk ${h.quirk}: triple fault as in the seed`, () => {
      const r = runGuest(image(), { memMiB: h.memMiB, hypervisor: { ...hvOptions(h), quirks: [h.quirk!] } });
      assert.equal(r.end, End.TripleFault, `expected a triple fault, got ${r.end}: ${r.message}`);
      assert.match(r.message, /Unhandled intercept: 0x00000002 \(TRIPLE_FAULT\)/);
      assert.match(r.message, /CS:EIP =0x1f00:/, 'the guest died in real-mode code with CS = 1F00H, as in the seed');
      assert.match(r.message, /CR4=0x00002000/, 'CR4 holds only VMXE: the guest\'s PAE was dropped');
      assert.ok(r.hvLog.some((l) => l.startsWith('MOV TO CR4 (flush TLB?), current=0x00002000, proposed=0x00000020')), r.hvLog.join('\n'));
    });
  }
}
