// The page at /ui/ in Debian's Chromium, driven by Playwright: node ui.test.mjs BASE_URL PICTURE OUT_DIR
// (UiPageIT runs it against the packaged application). Exits non-zero, naming the check, when one fails.
// With SCREENSHOT=path it also writes the page's screenshot there (scripts/ui-screenshot, for docs/page.md).
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [base, picture, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

function check(condition, what) {
  if (!condition) {
    throw new Error('check failed: ' + what);
  }
  console.log('ok: ' + what);
}

/** pycocotools' rleFrString and decode: the class mask of an RLE, read independently of the page. */
function decodeRle(rle) {
  const [h, w] = rle.size;
  const s = rle.counts;
  const counts = [];
  for (let p = 0; p < s.length;) {
    let x = 0; let k = 0; let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++; k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  const mask = new Uint8Array(w * h);
  let i = 0; let value = 0;
  for (const c of counts) {
    for (let j = 0; j < c; j++, i++) if (value) mask[(i % h) * w + Math.floor(i / h)] = 1;
    value ^= 1;
  }
  return mask;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const violations = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text()); });
  const pageResponse = await page.goto(base + '/ui/');
  check(/script-src 'self'/.test(pageResponse.headers()['content-security-policy'] || ''), 'the page has a strict CSP');
  await page.waitForSelector('#select option', { state: 'attached' });
  check(await page.locator('#demo-warning').isVisible(), 'the demo model is flagged as not a segmenter');

  // A picture, with the RLE so that the test can read the classes independently of the page.
  await page.check('input[value=rle]');
  await page.check('input[value=instances]');
  await page.setInputFiles('#picture', picture);
  await page.click('#send');
  await page.waitForSelector('#legend tbody tr');
  // The reply as the page received it, through its own download link (large bodies leave the inspector's cache).
  const [saved] = await Promise.all([page.waitForEvent('download'), page.click('#json-download')]);
  const reply = JSON.parse(readFileSync(await saved.path(), 'utf8'));
  const legend = await page.$$eval('#legend tbody tr', (rows) => rows.map((r) => Number(r.dataset.id)));
  const expected = [...reply.classes].sort((a, b) => b.share - a.share).map((c) => c.id);
  check(JSON.stringify(legend) === JSON.stringify(expected), `the legend's entries are the reply's ${expected.length} classes`);
  const natural = await page.$eval('#overlay', (img) => img.naturalWidth);
  check(natural === 2 * reply.width, `the overlay is twice the picture's width (${natural} = 2 × ${reply.width})`);

  // Hovering a pixel names the class the class map holds there (read from the reply's RLE, not from the page).
  const masks = reply.classes.map((c) => ({ id: c.id, name: c.name, mask: decodeRle(c.rle) }));
  const canvas = page.locator('#classmap');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  let hovered = 0;
  for (const [fx, fy] of [[0.5, 0.3], [0.5, 0.55], [0.1, 0.1], [0.45, 0.8]]) {
    const x = Math.floor(fx * reply.width);
    const y = Math.floor(fy * reply.height);
    await page.mouse.move(box.x + (x + 0.5) * box.width / reply.width, box.y + (y + 0.5) * box.height / reply.height);
    const named = await page.textContent('#pixel-class');
    const at = await page.$eval('#pixel-class', (o) => [Number(o.dataset.x), Number(o.dataset.y)]);
    const truth = masks.find((m) => m.mask[at[1] * reply.width + at[0]]);
    check(named === truth.name, `hovering pixel ${at} names ${truth.name}`);
    hovered++;
  }
  check(hovered === 4, 'four pixels named');

  // The cutout's download is a PNG with an alpha channel.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cutout-download')]);
  const cutout = readFileSync(await download.path());
  check(cutout.subarray(1, 4).toString() === 'PNG' && cutout[25] === 6, 'the cutout download is an RGBA PNG');
  check(await page.locator('#instances').isVisible() && await page.$eval('#instances-download', (a) => !!a.href),
    'the persons picture is shown with its download');
  check(await page.locator('#persons li').count() === reply.persons.length, `the ${reply.persons.length} person(s) listed`);
  await page.screenshot({ path: join(out, 'page.png'), fullPage: true });
  if (process.env.SCREENSHOT) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  }

  // A file that is not a picture: the server's message, as it wrote it.
  await page.setInputFiles('#picture', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url() === base + '/' && r.request().method() === 'POST'),
    page.click('#send'),
  ]);
  const failure = JSON.parse((await refused.body()).toString());
  await page.waitForSelector('#error:not([hidden])');
  const shown = await page.textContent('#error');
  check(refused.status() === 415 && shown.includes(failure.message), `a text file shows the server's 415: ${shown}`);

  // A phone-sized window: no horizontal scrolling.
  await page.setViewportSize({ width: 375, height: 740 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!wide, 'a phone-sized window does not scroll sideways');
  check(violations.length === 0, 'no Content-Security-Policy violation: ' + violations.join('; '));
  writeFileSync(join(out, 'reply.json'), JSON.stringify(reply).slice(0, 2000));
} finally {
  await browser.close();
}
