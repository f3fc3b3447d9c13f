// TAP verdicts of the test guests (guests/lib/test.inc prints them).

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
