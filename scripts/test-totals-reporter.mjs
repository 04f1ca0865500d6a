// A node:test reporter that counts leaf tests and prints one machine-readable totals line.
export default async function* totalsReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // Suites report too; count only tests (a failed file with no tests counts as one failure).
    if (event.data.details?.type === 'suite') {
      if (event.type === 'test:fail' && event.data.details?.error?.failureType !== 'subtestsFailed') failed++;
      continue;
    }
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `__TOTALS__ ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
