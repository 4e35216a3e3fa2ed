// A real Chromium for the dashboard tests (playwright-core drives it): CHROMIUM_PATH, else
// Debian's chromium, else the one the npm package @sparticuz/chromium ships inside itself
// (unpacked to the temp dir on first use; no download). Shared by test/e2e/dashboard*.test.ts.
import { findTool } from './tools.ts';

export const BASE_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface FoundBrowser {
  readonly executablePath: string;
  readonly args: string[];
  readonly source: string;
}

/** Undefined only where @sparticuz/chromium has no build (it ships Linux x64/arm64) and no chromium is installed. */
export async function findBrowser(): Promise<FoundBrowser | undefined> {
  if (process.env.CHROMIUM_PATH) return { executablePath: process.env.CHROMIUM_PATH, args: BASE_ARGS, source: 'CHROMIUM_PATH' };
  const debian = findTool('chromium');
  if (debian !== undefined) return { executablePath: debian, args: BASE_ARGS, source: debian };
  try {
    const { default: packaged } = await import('@sparticuz/chromium');
    // Its flags (software GL through SwiftShader…) without the two made for one-shot serverless
    // use: playwright chooses the headless mode itself, and --single-process cannot open a second
    // browser context. `locale` is set per context: with LANG=C.UTF-8 this build reports
    // `en-US@posix`, which Intl (uPlot's date axis) rejects.
    const args = packaged.args.filter((a) => a !== '--single-process' && !a.startsWith('--headless'));
    return { executablePath: await packaged.executablePath(), args: [...args, ...BASE_ARGS], source: '@sparticuz/chromium' };
  } catch {
    return undefined;
  }
}

/** The reason a browser test skips (or, with CI=true, fails) without one. */
export const NO_BROWSER = 'chromium not installed (apt-get install chromium), and @sparticuz/chromium has no build for this platform';
