// A node:test reporter that counts leaf tests and keeps one totals line,
// `N passed, N failed[, N skipped]`, in the file named by TEST_TOTALS_FILE.
// It rewrites the file after every test, synchronously: --test-force-exit
// ends the runner without waiting for reporters to finish their output.
import { writeFileSync } from 'node:fs';

export default async function* totalsReporter(source) {
  const file = process.env.TEST_TOTALS_FILE;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const record = () =>
    file && writeFileSync(file, `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // Suites report too; count only tests (a failed file with no tests counts as one failure).
    if (event.data.details?.type === 'suite') {
      if (event.type === 'test:fail' && event.data.details?.error?.failureType !== 'subtestsFailed') failed++;
    } else if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
    record();
  }
}
