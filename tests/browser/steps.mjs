// What every browser test does (tests/browser/*.mjs): a step that must hold, printed as "ok - …"
// (the integration test shows the other lines first when a script fails), and axe-core run on a
// page as it is: no violation of WCAG 2.0/2.1 A and AA.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export function check(cond, what) {
  if (!cond) throw new Error('step failed: ' + what);
  console.log('ok - ' + what);
}

export async function accessible(page, what) {
  // The page whole (a page a script wrote may still be loading its scripts and map).
  await page.waitForLoadState('load');
  // Through the DevTools protocol, as @axe-core/playwright does: the pages' Content-Security-
  // Policy refuses a <script> element the gateway did not write, also one a test adds.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  for (const v of result.violations) {
    console.log(`# ${what}: ${v.id} (${v.impact}): ${v.help}`);
    for (const n of v.nodes.slice(0, 5)) console.log('#   ' + n.target.join(' ') + ' — ' + n.failureSummary);
  }
  check(result.violations.length === 0, `${what}: axe finds no WCAG 2.1 A/AA violation`);
}
