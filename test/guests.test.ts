// Runs every self-checking guest in guests/ (built into build/guests/ by scripts/build-guests.mjs)
// on the machine and checks its verdict. For TAP guests (the default): no "not ok" line, a plan
// line "1..N" matching the number of "ok" lines, "# fail 0", and the run must end through the
// debug-exit port with status 1 (the guest wrote 0). Header lines can say otherwise
// (`; expect: triple-fault`, `; expect-status: N`; see guests/README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { End } from '../machine/machine.js';
import { runGuest } from './harness/guest.js';

const root = new URL('../..', import.meta.url).pathname;
const srcDir = join(root, 'guests');
const binDir = join(root, 'build', 'guests');

interface Expect { end: End; status?: number; tap: boolean; memMiB: number }

export function expectation(src: string): Expect {
  const head = src.split('\n').slice(0, 20).join('\n');
  const mem = /^;\s*mem:\s*(\d+)/m.exec(head);
  const memMiB = mem ? Number(mem[1]) : 64;
  if (/^;\s*expect:\s*triple-fault/m.test(head)) return { end: End.TripleFault, tap: false, memMiB };
  const m = /^;\s*expect-status:\s*(\d+)/m.exec(head);
  return { end: End.DebugExit, status: m ? Number(m[1]) : 1, tap: !m, memMiB };
}

/** Check a TAP log: returns a list of problems (empty = passed). */
export function tapProblems(serial: string): string[] {
  const lines = serial.split('\n');
  const problems = lines.filter((l) => /^not ok/.test(l));
  const oks = lines.filter((l) => /^ok \d+/.test(l)).length;
  const plan = lines.map((l) => /^1\.\.(\d+)$/.exec(l)).find((m) => m);
  if (!plan) problems.push('no plan line "1..N"');
  else if (Number(plan[1]) !== oks + problems.length) problems.push(`plan says ${plan[1]} checks, saw ${oks} ok + ${problems.length} not ok`);
  if (oks === 0) problems.push('no check passed');
  if (!lines.includes('# fail 0')) problems.push('no "# fail 0" line');
  return problems;
}

const sources = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.asm')).sort() : [];
test('there are test guests to run', () => { assert.ok(sources.length > 0, 'no guests/*.asm found'); });

for (const f of sources) {
  const name = f.replace(/\.asm$/, '');
  const src = readFileSync(join(srcDir, f), 'utf8');
  const elf = /^;\s*format:\s*elf/m.test(src.split('\n')[0]);
  const bin = join(binDir, name + (elf ? '.elf' : '.bin'));
  test(`guest ${name}`, () => {
    assert.ok(existsSync(bin), `${bin} missing: run node scripts/build-guests.mjs`);
    const exp = expectation(src);
    const r = runGuest(new Uint8Array(readFileSync(bin)), { memMiB: exp.memMiB });
    const ctx = `\n--- serial ---\n${r.serial.slice(-3000)}\n--- end: ${r.end} (${r.status}) ${r.message}`;
    if (exp.tap) assert.deepEqual(tapProblems(r.serial), [], `failed checks${ctx}`);
    assert.equal(r.end, exp.end, `run ended wrongly${ctx}`);
    if (exp.status !== undefined) assert.equal(r.status, exp.status, `wrong exit status${ctx}`);
  });
}
