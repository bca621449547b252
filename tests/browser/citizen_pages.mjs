// Drives the citizens' status pages (GET /meldung, /meldung/{reference}) in a real headless
// Chromium (Debian's chromium, driven by playwright-core), as citizens use them: on a 360-pixel
// phone, with the keyboard only, without JavaScript; and checks every page with axe-core for
// WCAG 2.1 A and AA. Called by tests/integration/citizen_pages_test.cpp, which prepared the
// ticket.
//
// Environment: BASE_URL, REF (a ticket with a position and a public history, done), OPEN_REF (an
// open ticket of a public category, for the list of reports and "Ich auch"), TYPO (REF with two
// neighbours swapped), PHOTO (a JPEG file to send), EXIF_PHOTO (a JPEG whose EXIF block, with
// a GPS position and orientation 6, is put into a large photo drawn here), FEEDBACK
// (webform.accessibility's e-mail address), TILES_HOST (the
// host of webform.map.tile_url; its requests are answered here with a blank tile), CHROMIUM
// (default /usr/bin/chromium). Exit status 0 = every step worked; otherwise the failed step.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { accessible, check } from './steps.mjs';

const base = process.env.BASE_URL;
const ref = process.env.REF;
const typo = process.env.TYPO;
const tilesHost = process.env.TILES_HOST;
const photo = process.env.PHOTO;
const feedback = process.env.FEEDBACK;
const exifPhoto = process.env.EXIF_PHOTO;
const openRef = process.env.OPEN_REF;
if (!base || !ref || !typo || !tilesHost || !photo || !feedback || !exifPhoto || !openRef) {
  console.error('usage: BASE_URL=… REF=… OPEN_REF=… TYPO=… TILES_HOST=… PHOTO=… EXIF_PHOTO=… FEEDBACK=… node citizen_pages.mjs');
  process.exit(2);
}
// A 1×1 transparent PNG: what the stand-in tile server answers.
const blankTile = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    'base64');


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
  // The pages' Content-Security-Policy refuses any script the gateway did not write: Chromium
  // says so on the console. None of the pages' own may be refused.
  const refused = [];
  const watchPolicy = (ctx) => ctx.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) refused.push(m.text());
  });
  watchPolicy(context);
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
  await page.waitForURL((u) => u.searchParams.get('lang') === 'en');
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

  // What is already reported: the map and the list, then "Ich auch" on an open report.
  await page.goto(`${base}/meldungen`);
  check((await page.textContent('h1')) === 'Gemeldete Mängel', 'the list of reports opens');
  await page.waitForSelector('#meldungen-karte.leaflet-container:not([hidden])');
  const listed = await page.locator('.meldung[data-lat]').count();
  check(listed >= 2, `it lists the reports (${listed})`);
  check(await page.locator('#meldungen-karte path.leaflet-interactive').count() === listed,
        'the map shows one marker per report of the page');
  check(await page.locator(`.meldung a[href="/meldung/${openRef}#ich-auch"]`).count() === 1,
        'an open report offers "Ich auch"');
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'the list fits 360 pixels');
  await accessible(page, 'the list of reports with its map');
  await page.click(`.meldung a[href="/meldung/${openRef}#ich-auch"]`);
  await page.waitForSelector('#ich-auch-email');
  await accessible(page, 'a status page with "Ich auch"');
  await page.focus('#ich-auch-email');
  await page.keyboard.type('nachbarin@example.net');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.rueckmeldung');
  check((await page.textContent('.rueckmeldung')).includes('Danke'), '"Ich auch" is thanked');
  await accessible(page, 'the thanks for "Ich auch"');

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
  // Space on the focused photo field opens the chooser. On a loaded machine headless Chromium now
  // and then drops the first press (CI saw it once in many runs): a person presses again, and so
  // does this test, still with the keyboard only, at most three times.
  let chooser = null;
  for (let attempt = 0; attempt < 3 && !chooser; attempt++) {
    if (!(await page.evaluate(() => document.activeElement && document.activeElement.id === 'fotos'))) {
      await tabTo('fotos');
    }
    [chooser] = await Promise.all([
      page.waitForEvent('filechooser', { timeout: 7000 }).catch(() => null),
      page.keyboard.press('Space')]);
    if (!chooser) console.log(`note: Space on the photo field opened no chooser (try ${attempt + 1})`);
  }
  if (!chooser) throw new Error('step failed: Space on the photo field never opens the chooser');
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

  // An error the server finds in a report sent by script: its page replaces the form, whole.
  await page.goto(`${base}/`);
  await page.setInputFiles('#fotos', photo);
  await page.fill('#beschreibung', 'Müll am Straßenrand');
  await page.click('details.optional summary');
  await page.fill('#telefon', 'keine Nummer');
  await page.click('#absenden');
  await page.waitForSelector('#fehler');
  check((await page.textContent('#fehler')).includes('Telefonnummer'),
        'an error the server finds after sending by script is shown as its page');
  check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'fehler'),
        'its summary has the focus');
  check((await page.inputValue('#beschreibung')) === 'Müll am Straßenrand', 'what was typed is kept');
  await page.waitForFunction(() => !!window.meldestelleFotos && !!document.getElementById('senden-fortschritt'));
  check(await page.locator('#senden-fortschritt').isHidden(), 'its scripts run again, the progress bar is hidden');
  await accessible(page, 'the form with the server\'s error');

  // A phone's photo: 4000 × 3000 pixels stored sideways (EXIF orientation 6), with the place in
  // its EXIF (the block of EXIF_PHOTO), larger than the server takes. The browser scales it
  // before sending, shows the progress, and the place and the upright picture survive.
  await page.goto(`${base}/`);
  const drawn = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 4000;
    c.height = 3000;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(c.width, c.height);
    let x = 12345;
    for (let y = 0; y < c.height; y++) {
      for (let xx = 0; xx < c.width; xx++) {
        const i = (y * c.width + xx) * 4;
        x = (x * 1103515245 + 12345) >>> 0;
        const n = (x >>> 24) % 48;
        img.data[i] = (xx * 255 / c.width + n) & 255;
        img.data[i + 1] = (y * 255 / c.height + n) & 255;
        img.data[i + 2] = 128 + n;
        img.data[i + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    const blob = await new Promise((ok) => c.toBlob(ok, 'image/jpeg', 0.92));
    return await new Promise((ok) => {
      const r = new FileReader();
      r.onload = () => ok(r.result.slice(r.result.indexOf(',') + 1));
      r.readAsDataURL(blob);
    });
  });
  const canvasJpeg = Buffer.from(drawn, 'base64');
  const exifSource = readFileSync(exifPhoto);
  const app1 = exifSource.indexOf(Buffer.from([0xff, 0xe1]));
  const exif = exifSource.subarray(app1, app1 + 2 + exifSource.readUInt16BE(app1 + 2));
  const afterJfif = 4 + canvasJpeg.readUInt16BE(4);  // the canvas's JPEG: SOI, APP0, …
  const phonePhoto = Buffer.concat([canvasJpeg.subarray(0, afterJfif), exif, canvasJpeg.subarray(afterJfif)]);
  const phonePath = join(tmpdir(), `meldestelle-grosses-foto-${process.pid}.jpg`);
  writeFileSync(phonePath, phonePhoto);
  // The EXIF reader with broken blocks: the photo is sent as chosen, nothing throws.
  const unchanged = await page.evaluate(async (exifBase64) => {
    const exif = Uint8Array.from(atob(exifBase64), (c) => c.charCodeAt(0));
    const c = document.createElement('canvas');
    c.width = 3000;
    c.height = 200;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#3a6';
    ctx.fillRect(0, 0, 3000, 200);
    ctx.fillStyle = '#fff';
    for (let x = 0; x < 3000; x += 40) ctx.fillRect(x, 0, 20, 200);
    const plain = new Uint8Array(await (await new Promise((ok) => c.toBlob(ok, 'image/jpeg', 0.95))).arrayBuffer());
    const at = 4 + ((plain[4] << 8) | plain[5]);
    const whole = new Uint8Array(plain.length + exif.length);
    whole.set(plain.subarray(0, at));
    whole.set(exif, at);
    whole.set(plain.subarray(at), at + exif.length);
    const tiff = at + 10;  // after the marker, length and "Exif\0\0"
    const cases = {
      'the first IFD beyond the block': (b) => { b.set([0xff, 0xff, 0xff, 0x7f], tiff + 4); return b; },
      'an unknown byte order': (b) => { b[tiff] = b[tiff + 1] = 0x58; return b; },
      'an orientation that is no SHORT': (b) => { b[tiff + 22 + 2] = 4; return b; },
      'an orientation of a half turn (cannot be checked)': (b) => { b[tiff + 22 + 8] = 3; return b; },
      'a block longer than the file': (b) => b.subarray(0, at + 20),
      'no JPEG at all': (b) => b.map((v, i) => (i * 7919) & 255),
    };
    const out = {};
    for (const [name, damage] of Object.entries(cases)) {
      const f = new File([damage(whole.slice())], 'kaputt.jpg', { type: 'image/jpeg' });
      const r = await window.meldestelleFotos.vorbereiten(f);
      out[name] = r.blob === f && r.name === 'kaputt.jpg';
    }
    const good = new File([whole], 'laterne.jpeg', { type: 'image/jpeg' });
    const r = await window.meldestelleFotos.vorbereiten(good);
    out['the intact photo is scaled'] = r.blob !== good && r.blob.size < good.size && r.name === 'laterne.jpg';
    return out;
  }, exif.toString('base64'));
  for (const [what, ok] of Object.entries(unchanged)) {
    check(ok, what.startsWith('the intact') ? what : 'a photo with ' + what + ' is sent as chosen');
  }
  await page.setInputFiles('#fotos', phonePath);
  await page.waitForSelector('.vorschau li');
  check(await page.locator('.vorschau li.ungueltig').count() === 0,
        'a photo over the limit that the browser will scale is not called too large');
  await page.fill('#beschreibung', 'Laterne dunkel, Foto vom Handy');
  let sentBytes = 0;
  let progressShown = '';
  await page.route('**/formular/meldung', async (route) => {
    sentBytes = route.request().postDataBuffer().length;
    progressShown = await page.evaluate(() => {
      const b = document.getElementById('senden-fortschritt');
      return b && !b.hidden ? document.getElementById('fortschritt-text').textContent : '';
    });
    await route.continue();
  });
  await page.click('#absenden');
  await page.waitForSelector('.referenz');
  await page.unroute('**/formular/meldung');
  unlinkSync(phonePath);
  check(progressShown.includes('gesendet'), 'the progress bar shows while it is sent: ' + progressShown);
  check(sentBytes > 0 && sentBytes < phonePhoto.length / 3,
        `the photo is scaled before it is sent (${phonePhoto.length} bytes chosen, ${sentBytes} sent)`);
  await accessible(page, 'the confirmation after sending by script');
  const scaledRef = (await page.textContent('.referenz')).replace(/\s/g, '');
  check(page.url() === `${base}/meldung/${scaledRef}`,
        'the address is the report\'s status page, so that a reload shows its status');
  console.log(`SCALED ${(await page.textContent('.referenz')).replace(/\s/g, '')} ${phonePhoto.length} ${sentBytes}`);

  // The languages: chosen by the browser (Arabic, right to left) or by the switch, kept through
  // the form to the confirmation and the status page; every page passes axe in each.
  const arabic = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'ar-SY' });
  watchPolicy(arabic);
  await arabic.route(`https://${tilesHost}/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'image/png', body: blankTile }));
  const ar = await arabic.newPage();
  ar.setDefaultTimeout(20000);
  await ar.goto(`${base}/`, { waitUntil: 'networkidle' });
  check(await ar.evaluate(() => document.documentElement.lang === 'ar' && document.documentElement.dir === 'rtl'),
        'an Arabic browser gets the form in Arabic, right to left');
  check(await ar.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'the Arabic form fits 360 pixels');
  const startLeft = await ar.evaluate(() => document.querySelector('h1').getBoundingClientRect().right);
  check(startLeft > 300, 'its heading starts on the right');
  await accessible(ar, 'the form in Arabic');
  await ar.setInputFiles('#fotos', photo);
  await ar.waitForSelector('.vorschau li');
  const chosen = await ar.textContent('#fotos-status');
  check(chosen.length > 0 && !/ausgewählt|chosen/.test(chosen), 'the script speaks Arabic too: ' + chosen);
  await ar.fill('#beschreibung', 'حفرة كبيرة أمام المنزل');
  await ar.fill('#adresse', 'Lindenstraße 13');
  await ar.click('#absenden');
  await ar.waitForSelector('.referenz');
  check(await ar.evaluate(() => document.documentElement.lang === 'ar' && document.documentElement.dir === 'rtl'),
        'the confirmation is Arabic');
  await accessible(ar, 'the confirmation in Arabic');
  const arRef = (await ar.textContent('.referenz')).replace(/\s/g, '');
  check(ar.url().endsWith(`/meldung/${arRef}?lang=ar`), 'a reload shows the status page in Arabic: ' + ar.url());
  await ar.goto(`${base}/meldung/${ref}?lang=ar`);
  await accessible(ar, 'the status page in Arabic');
  // The switch, from Arabic to Turkish, Ukrainian, Leichte Sprache.
  for (const [lang, what] of [['tr', 'Turkish'], ['uk', 'Ukrainian'], ['ru', 'Russian'], ['de-x-ls', 'Leichte Sprache']]) {
    await ar.click(`nav.sprachen a[href$="lang=${lang}"]`);
    await ar.waitForURL((u) => u.searchParams.get('lang') === lang);
    check(await ar.evaluate((l) => document.documentElement.lang === l && document.documentElement.dir === 'ltr', lang),
          `the switch leads to ${what}`);
    await accessible(ar, `the status page in ${what}`);
  }
  await ar.goto(`${base}/meldungen?lang=uk`);
  await accessible(ar, 'the list of reports in Ukrainian');
  await ar.goto(`${base}/?lang=de-x-ls`);
  await accessible(ar, 'the form in Leichte Sprache');
  await ar.goto(`${base}/datenschutz?lang=tr`);
  await accessible(ar, 'the privacy notice asked for in Turkish (English, said in Turkish)');
  await arabic.close();

  check(refused.length === 0, 'the policy refused none of the pages\' own scripts: ' + refused.join(' | '));
  // A script that got into a page some other way (markup injected through a hole) is not run:
  // neither an inline script nor an event handler attribute.
  const probe = await context.newPage();
  await probe.goto(`${base}/meldung/${ref}`);
  const ran = await probe.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = "script";';
    document.body.appendChild(s);
    const img = document.createElement('img');
    img.setAttribute('onerror', 'window.__handler = "ran";');
    img.src = 'data:,nicht-ein-bild';
    document.body.appendChild(img);
    await new Promise((resolve) => { img.addEventListener('error', resolve); setTimeout(resolve, 2000); });
    return [window.__injected, window.__handler];
  });
  check(ran[0] === undefined && ran[1] === undefined,
        'an injected inline script and event handler are not run: ' + JSON.stringify(ran));
  check(refused.length >= 2, 'Chromium says the policy refused them');
  await probe.close();

  // Without JavaScript: no map, the place as a link, nothing else missing.
  const plain = await browser.newContext({
    viewport: { width: 360, height: 740 }, javaScriptEnabled: false, locale: 'de-DE' });
  const noJs = await plain.newPage();
  await noJs.goto(`${base}/meldung/${ref}`);
  check(await noJs.locator('#karte').isHidden(), 'without JavaScript the map stays hidden');
  check(await noJs.locator('a[href^="https://www.openstreetmap.org/?mlat="]').count() === 1,
        'and the place is a link');
  check((await noJs.textContent('.stand')) === 'Erledigt', 'and the status is there');
  await noJs.goto(`${base}/meldungen`);
  check(await noJs.locator('#meldungen-karte').isHidden(), 'the list of reports without its map');
  check(await noJs.locator('.meldung').count() >= 2, 'lists the reports without JavaScript');
  await plain.close();
  await context.close();
} catch (e) {
  console.error(String(e && e.stack || e));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
