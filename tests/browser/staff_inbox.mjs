// Drives the staff inbox (/staff) in a real headless Chromium (Debian's chromium, driven by
// playwright-core) the way department staff use it: sign in as themselves (a wrong password
// first, then with the keyboard only), find
// the ticket on the list (search, map, several accepted at once), open it with its photo and
// map link, accept it, change its category, ask the citizen, set it done with a note for the
// citizen, look at the figures, hand another ticket back, log out; then as the operator forward
// that ticket to a named department and use the routing console. Called by the integration test
// tests/integration/inbox_test.cpp, which prepared the tickets and checks the database after.
//
// Environment: BASE_URL, STAFF_USER and STAFF_PASSWORD (department staff), OP_USER and
// OP_PASSWORD (an operator), REF (a ticket with a photo), REF2 and
// REF3 (two more tickets), CHROMIUM (default /usr/bin/chromium). Exit status 0 = every step worked; otherwise the failed step.
import { chromium } from 'playwright-core';
import { accessible, check } from './steps.mjs';

const base = process.env.BASE_URL;
const staffUser = process.env.STAFF_USER;
const staffPassword = process.env.STAFF_PASSWORD;
const opUser = process.env.OP_USER;
const opPassword = process.env.OP_PASSWORD;
const ref = process.env.REF;
const ref2 = process.env.REF2;
const ref3 = process.env.REF3;
if (!base || !staffUser || !staffPassword || !opUser || !opPassword || !ref || !ref2 || !ref3) {
  console.error('usage: BASE_URL=… STAFF_USER=… STAFF_PASSWORD=… OP_USER=… OP_PASSWORD=… REF=… ' +
                'REF2=… REF3=… node staff_inbox.mjs');
  process.exit(2);
}


const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // No background connections: the machine's network is closed except loopback.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
         '--no-first-run', '--disable-background-networking', '--disable-component-update',
         '--disable-sync'],
  timeout: 60000,
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'de-DE' });
  // The map's tiles (webform.map's tile server, OpenStreetMap's by default) from a stand-in: the
  // machine has no network beyond loopback.
  const blankTile = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'base64');
  // The pages' Content-Security-Policy (docs/security.md, "Scripts") refuses none of ours.
  const policyRefused = [];
  context.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) policyRefused.push(m.text());
  });
  await context.route('https://tile.openstreetmap.org/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/png', body: blankTile }));
  const page = await context.newPage();
  page.setDefaultTimeout(20000);

  await page.goto(base + '/staff');
  check(page.url().includes('/staff/login'), 'without a session /staff leads to the login');
  await accessible(page, 'the sign-in page');
  await page.fill('#benutzer', staffUser);
  await page.fill('#passwort', 'nicht-das-passwort');
  await page.click('button[type=submit]');
  check((await page.textContent('#fehler')).includes('Benutzername oder Passwort ist falsch'),
        'a wrong password is refused in German');
  await accessible(page, 'the sign-in page with its error');

  // With the keyboard only: the name field comes first, Tab to the password, Enter sends.
  await page.goto(base + '/staff/login');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.id) === 'benutzer',
        'the first Tab reaches the user name');
  await page.keyboard.type(staffUser);
  await page.keyboard.press('Tab');
  await page.keyboard.type(staffPassword);
  await page.keyboard.press('Enter');
  await page.waitForURL(base + '/staff');
  check((await page.textContent('header')).includes('Anna Beispiel'),
        'the header names the person signed in (from the directory)');
  const row = page.locator(`tr[data-reference="${ref}"]`);
  check(await row.count() === 1, 'the ticket is on the list of open tickets');
  check(await page.locator(`tr[data-reference="${ref2}"]`).count() === 1, 'so is the second one');
  check(!(await page.textContent('thead')).includes('UTC'), 'times are in the town\'s time zone');
  await page.waitForSelector('#meldungen-karte.leaflet-container:not([hidden])');
  const placed = await page.locator('tr.meldung[data-lat]').count();
  check(placed >= 2 && await page.locator('#meldungen-karte path.leaflet-interactive').count() === placed,
        `the map shows the listed tickets (${placed})`);
  await accessible(page, 'the list with its search');

  // Search: words of the text, with the keyboard (the form is a GET: the search is a link).
  await page.focus('#q');
  await page.keyboard.type('privatweg UNEBEN');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=privatweg/);
  check(await page.locator('tbody tr').count() === 1 &&
        await page.locator(`tr[data-reference="${ref2}"]`).count() === 1, 'the search finds the one ticket');
  check((await page.textContent('#anzahl')).startsWith('1 Meldung'), 'and says how many');
  await page.goto(base + '/staff?q=' + ref3.slice(0, 4) + '-' + ref3.slice(4, 8));
  check(await page.locator(`tr[data-reference="${ref3}"]`).count() === 1, 'a reference is found as staff write it');
  await page.goto(base + '/staff?kategorie=STR-02&sortierung=alt');
  check(await page.locator('tbody tr').count() === 1 && (await page.inputValue('#kategorie-filter')) === 'STR-02',
        'the category filter keeps its value');
  await page.goto(base + '/staff?von=2026-13-45');
  check((await page.textContent('[role=alert]')).includes('Datum'), 'a date that does not exist is said, not used');

  // Several accepted at once from the list.
  await page.goto(base + '/staff');
  await page.check(`#w-${ref3}`);
  await page.click('#sammel-annehmen');
  await page.waitForURL(/ok=sammel/);
  check((await page.textContent('.msg.ok')).startsWith('1 Meldung angenommen'), 'the chosen ticket is accepted from the list');
  check((await page.textContent(`tr[data-reference="${ref3}"] .status`)).trim() === 'angenommen',
        'and shown as accepted');

  await row.locator('a').click();
  await page.waitForURL(new RegExp('/staff/tickets/' + ref));
  check((await page.textContent('#text')).includes('Schlagloch'), 'the ticket shows its text');
  const photoOk = await page.locator('.photos img').first().evaluate(
      (img) => img.complete && img.naturalWidth > 0);
  check(photoOk, 'its photo loads');
  const map = await page.getAttribute('#karte', 'href');
  check(map && map.startsWith('https://www.openstreetmap.org/?mlat='), 'it links to the map');
  await accessible(page, 'a ticket with its forms');

  await page.click('#annehmen');
  await page.waitForURL(/ok=accept/);
  check((await page.textContent('#status')).trim() === 'angenommen', 'accepting shows "angenommen"');

  // The text for the public map of reports, typed with a line break (sent as CR LF).
  await page.fill('#oeffentlich', 'Schlagloch in der Fahrbahn.\nWird verfüllt.');
  await page.click('#veroeffentlichen');
  await page.waitForURL(/ok=public-text/);
  check((await page.textContent('.msg.ok')).includes('öffentliche Karte'), 'the public text is saved');
  check((await page.inputValue('#oeffentlich')) === 'Schlagloch in der Fahrbahn.\nWird verfüllt.',
        'and shown in its field');

  // The category, kept with the department (the box for new routing left empty).
  check(await page.locator('#weiterleiten').count() === 0, 'a department has no forwarding form');
  await page.selectOption('#kategorie', 'STR-02');
  await page.fill('#kategorie-notiz', 'eher der Gehweg');
  await page.click('#kategorie-aendern');
  await page.waitForURL(/ok=category/);
  check((await page.textContent('.msg.ok')).includes('Kategorie ist geändert'), 'the category is changed');
  check((await page.inputValue('#kategorie')) === 'STR-02', 'and shown as the current one');
  check((await page.locator('#verlauf li').allTextContents()).some((h) => h.includes('Kategorie geändert')),
        'the history records the change');

  // A question to the citizen: the ticket waits for the answer.
  await page.fill('#rueckfrage', 'Ist die Stelle abgesperrt?');
  await page.click('#rueckfrage-senden');
  await page.waitForURL(/ok=question/);
  check((await page.textContent('.msg.ok')).includes('Rückfrage ist gesendet'), 'the question is sent');
  check((await page.textContent('#status')).trim() === 'wartet auf Antwort', 'the ticket waits for the answer');
  check(await page.locator('#rueckfrage').count() === 0, 'and offers no second question');

  await page.selectOption('#neuer-status', 'done');
  await page.fill('#hinweis', 'Das Schlagloch ist verfüllt.');
  await page.click('#status-setzen');
  await page.waitForURL(/ok=status/);
  check((await page.textContent('#status')).trim() === 'erledigt', 'the status is now "erledigt"');
  const history = await page.locator('#verlauf li').allTextContents();
  check(history.some((h) => h.includes('angenommen')) &&
        history.some((h) => h.includes('Das Schlagloch ist verfüllt.')),
        'the history lists the acceptance and the public note');

  await page.goto(base + '/staff/tickets/' + ref2);
  await page.fill('#grund', 'Privatweg, nicht städtisch');
  await page.click('#zurueckgeben');
  await page.waitForURL(/\/staff\?ok=hand-back/);
  check((await page.textContent('.msg.ok')).includes('zurückgegeben'), 'handing back returns to the list');
  check(await page.locator(`tr[data-reference="${ref}"]`).count() === 0,
        'the finished ticket is no longer among the open ones');

  // The figures: charts drawn on the server, their numbers as tables, a CSV download.
  await page.click('header a[href="/staff/auswertung"]');
  await page.waitForURL(/\/staff\/auswertung/);
  check(await page.locator('svg#wochen[role=img] rect').count() > 0, 'the reports per week are a chart');
  check(await page.locator('svg#dauer[role=img]').count() === 1, 'so is the time to done');
  check((await page.textContent('main')).includes('Häufigste Kategorien je Bezirk'), 'and the top categories per district');
  await accessible(page, 'the figures page');
  const csv = await page.request.get(base + '/staff/auswertung.csv?nach=channel&zeitraum=week');
  check(csv.status() === 200 && csv.headers()['content-type'].startsWith('text/csv') &&
        (await csv.text()).startsWith('week,channel,received,'), 'the figures download as CSV');

  const refused = await page.goto(base + '/staff/leitstelle');
  check(refused.status() === 403 && await page.locator('header a[href="/staff/leitstelle"]').count() === 0,
        'the routing console is for operators only');

  await page.click('header button');
  await page.waitForURL(/\/staff\/login/);
  await page.goto(base + '/staff');
  check(page.url().includes('/staff/login'), 'after logging out the inbox asks to sign in again');

  // The operator sends the handed-back ticket to a named department.
  await page.fill('#benutzer', opUser);
  await page.fill('#passwort', opPassword);
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/staff');
  await page.goto(base + '/staff/tickets/' + ref2);
  await page.selectOption('#an-fachbereich', 'ordnungsamt');
  await page.fill('#weiterleiten-grund', 'Parkplatz des Ordnungsamts');
  await page.click('#weiterleiten');
  await page.waitForURL(/ok=forward/);
  check((await page.textContent('.msg.ok')).includes('weitergeleitet'), 'the operator forwards the ticket');
  check((await page.locator('#verlauf li').allTextContents()).some(
      (h) => h.includes('weitergeleitet') && h.includes('ordnungsamt') && h.includes('Parkplatz')),
        'the history records where to and why');

  // The routing console: the rules in force, a report tried against them, quality per rule.
  await page.click('header a[href="/staff/leitstelle"]');
  await page.waitForURL(/\/staff\/leitstelle/);
  check(await page.locator('section table tbody tr').first().isVisible() &&
        (await page.textContent('main')).includes('kategorie-tiefbau'), 'the console lists the rules in force');
  await page.fill('#probe-text', 'Die Straßenlaterne brennt nicht');
  await page.click('#probe-senden');
  await page.waitForSelector('#probe-ergebnis');
  check((await page.textContent('#probe-ergebnis')).includes('Straßenbeleuchtung'),
        'a tried report is routed as the rules say: ' + (await page.textContent('#probe-ergebnis')));
  check((await page.textContent('#probe-erklaerung')).length > 40, 'with the explanation');
  check((await page.inputValue('#probe-text')) === 'Die Straßenlaterne brennt nicht', 'the text stays to change');
  check(await page.locator('svg#fehlzuordnung[role=img]').count() === 1, 'quality per rule is a chart');
  await accessible(page, 'the routing console');
  check((await page.textContent('#dlq')).includes('reason: unparseable'), 'the console shows the dead letter with its reason');
  await page.click('#dlq-zurueck');
  await page.waitForURL(/ok=requeue/);
  check((await page.textContent('.msg.ok')).startsWith('1 Nachricht ist zurück'), 'and puts it back to be processed');
  check(policyRefused.length === 0, 'the script policy refused no script of the staff\'s pages: ' + policyRefused.join(' | '));
} catch (e) {
  failed = true;
  console.error(e.message || e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
