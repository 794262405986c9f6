/**
 * Opens a comparison report in headless Chromium (Debian's `chromium`, driven
 * by puppeteer-core: no browser download) and reports what a reader would
 * see: console errors, and for every chart whether it has data and drew
 * something. Keeps a full-page screenshot.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

interface ChartCheck {
  id: string;
  type: string;
  datasets: number;
  points: number;
  /** Canvas pixels that are not transparent or white. */
  inkedPixels: number;
}

export interface ReportPageCheck {
  consoleErrors: string[];
  charts: ChartCheck[];
  canvases: number;
  title: string;
}

function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => p !== undefined && p !== '',
  );
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined)
    throw new Error(
      `Chromium not found (tried ${candidates.join(', ')}); npm test installs Debian's chromium package, or set CHROMIUM_PATH`,
    );
  return found;
}

export async function checkReportPage(htmlPath: string, screenshotPath: string): Promise<ReportPageCheck> {
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error instanceof Error ? error.message : String(error)));
    page.on('requestfailed', (request) => consoleErrors.push(`request failed: ${request.url()}`));
    // The report is self-contained: any request beyond the file itself is a bug.
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.url().startsWith('file:') || request.url().startsWith('data:')) void request.continue();
      else {
        consoleErrors.push(`network request: ${request.url()}`);
        void request.abort();
      }
    });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
    const result = await page.evaluate(() => {
      // The page's own globals, typed by the little this check reads (the project compiles without the DOM library).
      interface Canvas {
        id: string;
        width: number;
        height: number;
        getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
      }
      interface PageGlobals {
        Chart?: { instances: Record<string, { canvas: Canvas; config: { type: string }; data: { datasets: Array<{ data: unknown[] }> } }> };
        document: { title: string; querySelectorAll(selector: string): { length: number } };
      }
      const page = globalThis as unknown as PageGlobals;
      const chartGlobal = page.Chart;
      const charts = Object.values(chartGlobal?.instances ?? {}).map((chart) => {
        const canvas = chart.canvas;
        const context = canvas.getContext('2d');
        let inked = 0;
        if (context !== null && canvas.width > 0 && canvas.height > 0) {
          const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 0; i < pixels.length; i += 4) {
            const [r, g, b, a] = [pixels[i] ?? 0, pixels[i + 1] ?? 0, pixels[i + 2] ?? 0, pixels[i + 3] ?? 0];
            if (a > 0 && !(r > 250 && g > 250 && b > 250)) inked += 1;
          }
        }
        return {
          id: canvas.id,
          type: chart.config.type,
          datasets: chart.data.datasets.length,
          points: chart.data.datasets.reduce((sum, dataset) => sum + dataset.data.length, 0),
          inkedPixels: inked,
        };
      });
      return { charts, canvases: page.document.querySelectorAll('canvas').length, title: page.document.title };
    });
    await page.screenshot({ path: screenshotPath as `${string}.png`, fullPage: true });
    return { consoleErrors, ...result };
  } finally {
    await browser.close();
  }
}
