// Drives the citizens' status pages (GET /meldung, /meldung/{reference}) in a real headless
// Chromium (Debian's chromium, driven by playwright-core), as citizens use them: on a 360-pixel
// phone, with the keyboard only, without JavaScript; and checks every page with axe-core for
// WCAG 2.1 A and AA. Called by tests/integration/citizen_pages_test.cpp, which prepared the
// ticket.
//
// Environment: BASE_URL, REF (a ticket with a position and a public history), TYPO (REF with two
// neighbours swapped), PHOTO (a JPEG file to send), FEEDBACK (webform.accessibility's e-mail
// address), TILES_HOST (the
// host of webform.map.tile_url; its requests are answered here with a blank tile), CHROMIUM
// (default /usr/bin/chromium). Exit status 0 = every step worked; otherwise the failed step.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const ref = process.env.REF;
const typo = process.env.TYPO;
const tilesHost = process.env.TILES_HOST;
const photo = process.env.PHOTO;
const feedback = process.env.FEEDBACK;
if (!base || !ref || !typo || !tilesHost || !photo || !feedback) {
  console.error('usage: BASE_URL=… REF=… TYPO=… TILES_HOST=… PHOTO=… FEEDBACK=… node citizen_pages.mjs');
  process.exit(2);
}
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// A 1×1 transparent PNG: what the stand-in tile server answers.
const blankTile = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    'base64');

function check(cond, what) {
  if (!cond) throw new Error('step failed: ' + what);
  console.log('ok - ' + what);
}

// axe-core on the page as it is now: no violation of WCAG 2.0/2.1 A and AA.
async function accessible(page, what) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  for (const v of result.violations) {
    console.log(`# ${what}: ${v.id} (${v.impact}): ${v.help}`);
    for (const n of v.nodes.slice(0, 5)) console.log('#   ' + n.target.join(' ') + ' — ' + n.failureSummary);
  }
  check(result.violations.length === 0, `${what}: axe finds no WCAG 2.1 A/AA violation`);
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
  // A phone, 360 pixels wide, German.
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'de-DE' });
  const requested = [];
  context.on('request', (r) => requested.push(r.url()));
  await context.route(`https://${tilesHost}/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'image/png', body: blankTile }));
  const page = await context.newPage();
  page.setDefaultTimeout(20000);

  await page.goto(`${base}/meldung/${ref}`);
  check((await page.textContent('h1')) === 'Stand Ihrer Meldung', 'the status page opens in German');
  check((await page.textContent('.referenz')).replace(/\s/g, '') === ref, 'it shows the reference');
  check((await page.textContent('.stand')) === 'Erledigt', 'and the status in words');
  await page.waitForSelector('#karte.leaflet-container:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#karte img.leaflet-tile-loaded').length > 0);
  check(await page.locator('#karte svg path').count() === 1, 'the map shows the place with one marker');
  const box = await page.locator('#karte').boundingBox();
  check(box && box.height > 100 && box.width <= 360, 'the map fits the phone');
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'nothing scrolls sideways at 360 pixels');
  const foreign = requested.filter((u) => !u.startsWith(base + '/') && !u.startsWith(`https://${tilesHost}/`));
  check(foreign.length === 0, 'no request but to the gateway and the tile server: ' + foreign.join(' '));
  check(requested.some((u) => u.startsWith(base + '/assets/leaflet-')), 'the map library comes from the gateway');
  await accessible(page, 'the status page');

  await page.click('a[hreflang=en]');
  check((await page.textContent('h1')) === 'Status of your report', 'the switch leads to English');
  await accessible(page, 'the status page in English');

  // Keyboard only: the field to type a reference, a typo, then the right one.
  await page.goto(`${base}/meldung`);
  await accessible(page, 'the field to type a reference');
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'nummer');
  }
  check(reached, 'Tab reaches the field');
  await page.keyboard.type(typo.toLowerCase());
  await page.keyboard.press('Enter');
  await page.waitForSelector('[role=alert]');
  check((await page.textContent('[role=alert]')).includes('Tippfehler'), 'a swapped pair is called a typo');
  check((await page.inputValue('#nummer')) === typo.toLowerCase(), 'what was typed is there to correct');
  await accessible(page, 'the field with an error');
  await page.focus('#nummer');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(ref.slice(0, 4) + ' ' + ref.slice(4, 8) + ' ' + ref.slice(8));
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/meldung/${ref}`);
  check(true, 'Enter leads to the report\'s page');
  await page.goto(`${base}/meldung/${'2'.repeat(11)}X`);
  await accessible(page, 'an unknown or mistyped reference');

  await page.goto(`${base}/datenschutz`);
  await accessible(page, 'the privacy notice');
  await page.goto(`${base}/barrierefreiheit`);
  check((await page.textContent('h1')) === 'Erklärung zur Barrierefreiheit', 'the accessibility statement opens');
  check((await page.textContent('main')).includes(feedback), 'with the address to report a barrier');
  await accessible(page, 'the accessibility statement');

  // Keyboard only, on the phone: a photo, the text, the address, send (Tab, Space, Enter).
  await page.goto(`${base}/`);
  await page.waitForSelector('#formular-karte.leaflet-container');
  async function tabTo(id) {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((want) => document.activeElement && document.activeElement.id === want, id)) return;
    }
    throw new Error('step failed: Tab never reaches #' + id);
  }
  await tabTo('fotos');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
  await chooser.setFiles(photo);
  await page.waitForSelector('.vorschau li');
  check(true, 'Tab and Space open the photo chooser, the photo is shown');
  await tabTo('beschreibung');
  await page.keyboard.type('Schlagloch, nur mit der Tastatur gemeldet');
  await tabTo('adresse');
  await page.keyboard.type('Lindenstraße 13');
  await tabTo('absenden');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.referenz');
  const keyboardRef = (await page.textContent('.referenz')).replace(/\s/g, '');
  console.log(`KEYBOARD ${keyboardRef}`);
  check(keyboardRef.length === 12, 'Enter sends the report, the reference is shown');
  await accessible(page, 'the confirmation page');
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'the confirmation fits 360 pixels');

  // The form's map: tap, a typed address, the keyboard, a place outside the town, then send.
  await context.grantPermissions(['geolocation'], { origin: base });
  await context.setGeolocation({ latitude: 50.90, longitude: 6.90 });  // south-west of the town
  // What the form costs a phone: every response but the tiles, as transferred (compressed).
  const responses = [];
  const onResponse = (r) => { if (!r.url().startsWith(`https://${tilesHost}/`)) responses.push(r); };
  page.on('response', onResponse);
  await page.goto(`${base}/`, { waitUntil: 'networkidle' });
  await page.waitForSelector('#formular-karte.leaflet-container');
  page.off('response', onResponse);
  let transferred = 0;
  for (const r of responses) {
    const sizes = await r.request().sizes();
    transferred += sizes.responseBodySize + sizes.responseHeadersSize;
  }
  console.log(`FORM_BYTES ${transferred} in ${responses.length} responses`);
  check(transferred < 100 * 1024, `the form with its map weighs ${Math.round(transferred / 1024)} KB transferred, under 100 KB`);
  check(await page.locator('#karte-block').isVisible(), 'the form shows its map');
  await page.waitForFunction(() => document.querySelectorAll('#formular-karte img.leaflet-tile-loaded').length > 0);
  await accessible(page, 'the report form with its map');
  const formMap = page.locator('#formular-karte');
  const mapBox = await formMap.boundingBox();
  // A tap at an offset from the middle (the keyboard step below sets the middle).
  const tap = (dx, dy) => formMap.click({ position: { x: mapBox.width / 2 + dx, y: mapBox.height / 2 + dy } });
  await tap(0, 0);
  await page.waitForFunction(() => document.getElementById('karte-status').textContent.includes('Markierung gesetzt'));
  check((await page.inputValue('#lat')) !== '' && (await page.inputValue('#lon')) !== '',
        'a tap on the map sets the position');
  check(await page.locator('#formular-karte .leaflet-marker-icon').count() === 1, 'and shows one marker');
  check((await page.textContent('#karte-status')).includes('in der Nähe von'), 'with the address near it');

  await page.fill('#adresse', 'Lindenstr. 13');
  await page.locator('#adresse').blur();
  await page.waitForFunction(() => document.getElementById('karte-status').textContent.includes('Gefunden'));
  check((await page.textContent('#karte-status')).includes('Lindenstraße 13'), 'a typed address is found');
  check((await page.inputValue('#lat')) === '', 'and the address decides, not the old marker');

  await page.focus('#formular-karte');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('lat').value !== '');
  const keyLat = parseFloat(await page.inputValue('#lat'));
  check(Math.abs(keyLat - 50.9380) < 0.001, 'Enter on the map sets the marker in its middle: ' + keyLat);

  await page.click('#standort-knopf');
  await page.waitForFunction(() => document.getElementById('karte-status').textContent.includes('außerhalb'));
  check((await page.textContent('#karte-status')).includes('außerhalb von Musterstadt'),
        'a place outside the town is said before sending');

  // Back into the town (a typed address moves the map there), a tap, and send.
  await page.fill('#adresse', 'Hauptstraße 5');
  await page.locator('#adresse').blur();
  await page.waitForFunction(() => document.getElementById('karte-status').textContent.includes('Gefunden'));
  await page.fill('#beschreibung', 'Schlagloch, auf der Karte gezeigt');
  await page.evaluate(() => { document.getElementById('lat').value = ''; });
  await tap(10, 10);
  await page.waitForFunction(() => document.getElementById('lat').value !== '');
  const sentLat = await page.inputValue('#lat');
  const sentLon = await page.inputValue('#lon');
  await page.click('#absenden');
  await page.waitForSelector('.referenz');
  console.log(`SENT ${sentLat} ${sentLon} ${(await page.textContent('.referenz')).replace(/\s/g, '')}`);
  check(true, 'the report with the marker\'s place is sent');

  // Without JavaScript: no map, the place as a link, nothing else missing.
  const plain = await browser.newContext({
    viewport: { width: 360, height: 740 }, javaScriptEnabled: false, locale: 'de-DE' });
  const noJs = await plain.newPage();
  await noJs.goto(`${base}/meldung/${ref}`);
  check(await noJs.locator('#karte').isHidden(), 'without JavaScript the map stays hidden');
  check(await noJs.locator('a[href^="https://www.openstreetmap.org/?mlat="]').count() === 1,
        'and the place is a link');
  check((await noJs.textContent('.stand')) === 'Erledigt', 'and the status is there');
  await plain.close();
  await context.close();
} catch (e) {
  console.error(String(e && e.stack || e));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
