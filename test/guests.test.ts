// Runs every self-checking guest in guests/ (built into build/guests/ by scripts/build-guests.mjs)
// on the machine and checks its verdict: the serial log must have no "not ok" line, and the run
// must end as the guest's header says (`; expect: triple-fault`, `; expect-status: N`; default:
// debug-exit status 1, i.e. the guest wrote 0 to port 0xf4 after all checks passed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { End } from '../machine/machine.js';
import { runGuest } from './harness/guest.js';

const root = new URL('../..', import.meta.url).pathname;
const srcDir = join(root, 'guests');
const binDir = join(root, 'build', 'guests');

interface Expect { end: End; status?: number }

function expectation(src: string): Expect {
  const head = src.split('\n').slice(0, 20).join('\n');
  if (/^;\s*expect:\s*triple-fault/m.test(head)) return { end: End.TripleFault };
  const m = /^;\s*expect-status:\s*(\d+)/m.exec(head);
  return { end: End.DebugExit, status: m ? Number(m[1]) : 1 };
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
    const r = runGuest(new Uint8Array(readFileSync(bin)));
    const failures = r.serial.split('\n').filter((l) => /^not ok/.test(l));
    const ctx = `\n--- serial ---\n${r.serial.slice(-3000)}\n--- end: ${r.end} (${r.status}) ${r.message}`;
    assert.deepEqual(failures, [], `failed checks${ctx}`);
    assert.equal(r.end, exp.end, `run ended wrongly${ctx}`);
    if (exp.status !== undefined) assert.equal(r.status, exp.status, `wrong exit status${ctx}`);
  });
}
