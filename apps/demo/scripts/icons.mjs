// Render the app icons (PNG) from public/icons/icon.svg with Debian's Chromium.
// Run once after changing the SVG: node apps/demo/scripts/icons.mjs
import { readFile, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const dir = new URL('../public/icons/', import.meta.url);
const svg = await readFile(new URL('icon.svg', dir), 'utf8');
const glyph = svg
  .replace(/<rect[^>]*\/>/, '')
  .replace(/<svg[^>]*>/, '')
  .replace('</svg>', '');

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage();
const render = async (name, size, markup) => {
  await page.setViewportSize({ width: size, height: size });
  await page.setContent(
    `<style>html,body{margin:0;background:transparent}svg{display:block}</style>${markup}`,
  );
  await writeFile(new URL(name, dir), await page.screenshot({ omitBackground: true }));
};
const sized = (size) => svg.replace('<svg ', `<svg width="${size}" height="${size}" `);
// Maskable: full-bleed background, the glyph inside the central 80% safe zone.
const maskable = (size) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 512 512">${svg.match(/<defs>[\s\S]*<\/defs>/)[0]}<rect width="512" height="512" fill="url(#g)"/><g transform="translate(76.8 76.8) scale(0.7)">${glyph.replace(/<defs>[\s\S]*<\/defs>/, '')}</g></svg>`;

await render('icon-192.png', 192, sized(192));
await render('icon-512.png', 512, sized(512));
await render('maskable-512.png', 512, maskable(512));
await render('apple-touch-icon.png', 180, maskable(180));
await browser.close();
